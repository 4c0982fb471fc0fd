//! Image CDN emulation: `/img-get2/{id}/fit=…` redirects to the Tate thumbnail.

mod common;

use serde_json::Value;

const SEARCH: &str = "/psapi/v4.0/media?org_id=O0000TateDemo001&per_page=1000&include=iptc";

#[test]
fn image_redirects_to_thumbnail() {
    let library = common::load(Some(500));
    let (id, thumbnail) = library
        .media
        .iter()
        .find_map(|item| Some((item.id.clone(), item.thumbnail_url.clone()?)))
        .expect("some artwork has a thumbnail");
    let standin = common::start_with(library);

    for size in ["fit=640", "fit=1200x1200", "fill=400x400", "fit=1200x1200/picture.jpg"] {
        let reply = standin.get(&format!("/img-get2/{id}/{size}")).send();
        assert_eq!(reply.status, 302, "{size}: {}", reply.body);
        assert_eq!(reply.header("Location"), Some(thumbnail.as_str()), "{size}");
    }
}

#[test]
fn image_without_thumbnail_is_404() {
    let library = common::load(Some(2000));
    let id = library
        .media
        .iter()
        .find(|item| item.thumbnail_url.is_none())
        .map(|item| item.id.clone())
        .expect("some artwork in the first 2000 has no thumbnail");
    let standin = common::start_with(library);

    let reply = standin.get(&format!("/img-get2/{id}/fit=640")).send();
    assert_eq!(reply.status, 404);
    assert_eq!(reply.error_id(), "ResourceNotFoundException");
}

#[test]
fn image_checks_id_and_size() {
    let standin = common::start(Some(50));

    let unknown = standin.get("/img-get2/I0000000ZZZ99999/fit=640").send();
    assert_eq!(unknown.status, 404);

    let bad_id = standin.get("/img-get2/not-an-id/fit=640").send();
    assert_eq!(bad_id.status, 400);

    let bad_size = standin.get("/img-get2/I000000000A00001/crop=10").send();
    assert_eq!(bad_size.status, 400);
}

#[test]
fn searchable_matches_redirect() {
    let standin = common::start(Some(200));
    let token = standin.login_org();
    let body = standin.fetch(&token, SEARCH);

    for item in body["data"].as_array().expect("list") {
        let id = item["id"].as_str().expect("id");
        let searchable = item["attributes"]["searchable"] == Value::Bool(true);
        let reply = standin.get(&format!("/img-get2/{id}/fit=300")).send();
        let expected = if searchable { 302 } else { 404 };
        assert_eq!(reply.status, expected, "{id}");
    }
}
