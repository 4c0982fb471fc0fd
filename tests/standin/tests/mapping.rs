//! The Tate-to-PhotoShelter mapping rules, checked over the full data set through the HTTP API.
//!
//! The expectations here are computed from the raw Tate records, not from the mapping code, so
//! a change to a rule shows up as a failure naming the record.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

use common::Standin;
use loci_standin::config::DEFAULT_DATA;
use loci_standin::library::Library;
use loci_standin::tate::{self, Artwork};
use serde_json::Value;

const SEARCH: &str = "/psapi/v4.0/media?org_id=O0000TateDemo001&per_page=1000";
const MALFORMED: [&str; 4] = ["31/02/2027?", "2027-02-30", "TBC", "2028-13-01"];

struct Fixture {
    artworks: Vec<Artwork>,
    standin: Standin,
    token: String,
    /// Every media item from a full walk of `/media` with all includes, by id.
    media: HashMap<String, Value>,
    /// Every gallery from a full walk of `/galleries`, by id.
    galleries: HashMap<String, Value>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let artworks = tate::load_artworks(std::path::Path::new(DEFAULT_DATA), None).expect("artworks load");
        let library = Library::build(&artworks, common::ORG_ID).expect("library builds");
        let standin = common::start_with(library);
        let token = standin.login_org();

        let media = walk(&standin, &token, &format!("{SEARCH}&include=iptc,custom-metadata,galleries"));
        let galleries = walk(&standin, &token, "/psapi/v4.0/galleries?per_page=1000");
        Fixture { artworks, standin, token, media, galleries }
    })
}

fn walk(standin: &Standin, token: &str, path: &str) -> HashMap<String, Value> {
    let mut items = HashMap::new();
    for page in 1.. {
        let body = standin.fetch(token, &format!("{path}&page={page}"));
        let batch = body["data"].as_array().expect("data is a list");
        if batch.is_empty() {
            break;
        }
        for item in batch {
            let id = item["id"].as_str().expect("id").to_owned();
            assert!(items.insert(id.clone(), item.clone()).is_none(), "{id} repeats");
        }
    }
    items
}

fn media_id(acno: &str) -> String {
    format!("I0000{acno:0>11}")
}

fn item<'a>(fixture: &'a Fixture, artwork: &Artwork) -> &'a Value {
    let id = media_id(&artwork.acno);
    fixture.media.get(&id).unwrap_or_else(|| panic!("{} ({id}) missing from the walk", artwork.acno))
}

fn custom(item: &Value) -> &serde_json::Map<String, Value> {
    item["includes"]["custom-metadata"]["data"]["attributes"].as_object().expect("custom metadata attributes")
}

fn is_third_party(artwork: &Artwork) -> bool {
    artwork.thumbnail_copyright.is_some() || artwork.images.iter().any(|image| image.copyright.is_some())
}

fn is_not_cleared(artwork: &Artwork) -> bool {
    artwork.images.iter().any(|image| image.cleared == Some(false))
}

#[test]
fn full_library_counts() {
    let fixture = fixture();
    let groups: BTreeSet<u64> =
        fixture.artworks.iter().filter_map(|artwork| Some(artwork.group.as_ref()?.id)).collect();
    let artists: BTreeSet<&String> = fixture.artworks.iter().flat_map(|a| &a.artists).collect();
    let movements: BTreeSet<&String> = fixture.artworks.iter().flat_map(|a| &a.movements).collect();

    assert_eq!(fixture.artworks.len(), 69_202);
    assert_eq!(fixture.media.len(), 69_202);
    assert_eq!(fixture.galleries.len(), groups.len() + artists.len() + movements.len());

    let health = fixture.standin.get("/__standin/health").send().json();
    assert_eq!(health["media"], 69_202);
    assert_eq!(health["collections"], 10);
}

#[test]
fn media_ids_are_padded_acnos() {
    let fixture = fixture();
    for artwork in &fixture.artworks {
        let id = media_id(&artwork.acno);
        assert_eq!(id.len(), 16, "{}", artwork.acno);
        let item = item(fixture, artwork);
        assert_eq!(item["attributes"]["file_name"], format!("{}.jpg", artwork.acno));
        assert_eq!(item["attributes"]["searchable"], artwork.thumbnail_url.is_some());
    }
}

#[test]
fn third_party_copyright_is_web_only_with_expiration() {
    let fixture = fixture();
    let mut checked = 0;
    let mut in_gb = 0;

    for artwork in fixture
        .artworks
        .iter()
        .filter(|artwork| is_third_party(artwork) && artwork.thumbnail_url.is_some() && !is_not_cleared(artwork))
    {
        let fields = custom(item(fixture, artwork));
        let acno = &artwork.acno;
        assert_eq!(fields["Usage Channels"], "web", "{acno}");

        let start = format!("{}-01-01", artwork.acquisition_year.unwrap_or(2000));
        assert_eq!(fields["License Start Date"], start.as_str(), "{acno}");

        let expiration = fields["License Expiration Date"].as_str().expect("expiration");
        let date = chrono::NaiveDate::parse_from_str(expiration, "%Y-%m-%d")
            .unwrap_or_else(|error| panic!("{acno}: {expiration}: {error}"));
        assert!(
            date >= chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("date")
                && date <= chrono::NaiveDate::from_ymd_opt(2029, 12, 31).expect("date"),
            "{acno}: {date}"
        );

        let territory = fields["Territory"].as_str().expect("territory");
        assert!(["worldwide", "GB"].contains(&territory), "{acno}: {territory}");
        in_gb += usize::from(territory == "GB");
        checked += 1;
    }

    assert_eq!(checked, 14_239);
    let share = in_gb as f64 / checked as f64;
    assert!((0.2..0.3).contains(&share), "GB share {share}");
}

#[test]
fn no_thumbnail_has_no_usage_fields() {
    let fixture = fixture();
    let mut checked = 0;
    for artwork in fixture.artworks.iter().filter(|artwork| artwork.thumbnail_url.is_none() && !is_not_cleared(artwork))
    {
        let item = item(fixture, artwork);
        let keys: Vec<&String> = custom(item).keys().collect();
        assert_eq!(keys, vec!["Source URL"], "{}", artwork.acno);
        assert!(item["includes"]["iptc"]["data"]["attributes"]["rights"].is_null());
        checked += 1;
    }
    assert_eq!(checked, 10_744);
}

#[test]
fn not_cleared_has_channel_none() {
    let fixture = fixture();
    let mut checked = 0;
    for artwork in fixture.artworks.iter().filter(|artwork| is_not_cleared(artwork)) {
        let fields = custom(item(fixture, artwork));
        assert_eq!(fields["Usage Channels"], "none", "{}", artwork.acno);
        assert_eq!(fields.len(), 2, "{}: {fields:?}", artwork.acno);
        checked += 1;
    }
    assert_eq!(checked, 42);
}

#[test]
fn tate_cleared_has_all_channels_and_rare_malformed_expiration() {
    let fixture = fixture();
    let mut checked = 0;
    let mut malformed = 0;

    for artwork in fixture
        .artworks
        .iter()
        .filter(|artwork| artwork.thumbnail_url.is_some() && !is_third_party(artwork) && !is_not_cleared(artwork))
    {
        let fields = custom(item(fixture, artwork));
        let acno = &artwork.acno;
        assert_eq!(fields["Usage Channels"], "web, email, social, partner", "{acno}");
        assert_eq!(fields["Territory"], "worldwide", "{acno}");
        assert!(fields.get("License Start Date").is_none(), "{acno}");
        if let Some(expiration) = fields.get("License Expiration Date") {
            let value = expiration.as_str().expect("text");
            assert!(MALFORMED.contains(&value), "{acno}: {value}");
            malformed += 1;
        }
        checked += 1;
    }

    assert_eq!(checked, 44_177);
    let share = malformed as f64 / checked as f64;
    assert!((0.003..0.007).contains(&share), "malformed share {share} ({malformed})");
}

#[test]
fn iptc_follows_record() {
    let fixture = fixture();
    for artwork in fixture.artworks.iter().step_by(7) {
        let item = item(fixture, artwork);
        let iptc = &item["includes"]["iptc"]["data"]["attributes"];
        let acno = &artwork.acno;

        assert_eq!(iptc["title"], artwork.title.as_str(), "{acno}");
        assert_eq!(iptc["source"], "Tate");
        assert_eq!(iptc["credit"], serde_json::json!(artwork.credit_line), "{acno}");
        assert_eq!(iptc["web_statement"], serde_json::json!(artwork.url), "{acno}");

        let author = (!artwork.artists.is_empty()).then(|| artwork.artists.join("; "));
        assert_eq!(iptc["author"], serde_json::json!(author), "{acno}");

        let copyright = artwork
            .thumbnail_copyright
            .clone()
            .or_else(|| artwork.images.iter().find_map(|image| image.copyright.clone()))
            .unwrap_or_else(|| "© Tate".to_owned());
        assert_eq!(iptc["copyright"], copyright.as_str(), "{acno}");

        let mut keywords: Vec<&str> = Vec::new();
        for subject in &artwork.subjects {
            if let Some(leaf) = subject.path.last() {
                if !keywords.contains(&leaf.as_str()) {
                    keywords.push(leaf);
                }
            }
        }
        assert_eq!(iptc["keywords"], serde_json::json!(keywords), "{acno}");

        let caption = iptc["caption"].as_str().expect("caption");
        assert!(caption.starts_with(&artwork.title), "{acno}: {caption}");
    }
}

#[test]
fn media_galleries_follow_group_artists_movements() {
    let fixture = fixture();
    let names: HashMap<&str, &str> = fixture
        .galleries
        .iter()
        .map(|(id, gallery)| (id.as_str(), gallery["attributes"]["name"].as_str().expect("name")))
        .collect();

    for artwork in fixture.artworks.iter().step_by(11) {
        let item = item(fixture, artwork);
        let galleries: Vec<&str> = item["includes"]["galleries"]["data"]
            .as_array()
            .expect("galleries")
            .iter()
            .map(|gallery| gallery["id"].as_str().expect("id"))
            .collect();

        if let Some(group) = &artwork.group {
            let group_id = format!("G0000grp{:08}", group.id);
            assert!(galleries.contains(&group_id.as_str()), "{}", artwork.acno);
        }
        let mut expected: BTreeSet<&str> = artwork.artists.iter().map(String::as_str).collect();
        expected.extend(artwork.movements.iter().map(String::as_str));
        let actual: BTreeSet<&str> =
            galleries.iter().filter(|id| !id.starts_with("G0000grp")).map(|id| names[id]).collect();
        assert_eq!(actual, expected, "{}", artwork.acno);
    }
}

#[test]
fn gallery_ids_and_modes() {
    let fixture = fixture();
    let mut modes: BTreeMap<String, usize> = BTreeMap::new();
    for (id, gallery) in &fixture.galleries {
        assert_eq!(id.len(), 16, "{id}");
        let mode = gallery["attributes"]["mode"].as_str().expect("mode").to_owned();
        *modes.entry(mode).or_default() += 1;
    }

    let total = fixture.galleries.len() as f64;
    let private = modes.get("private").copied().unwrap_or_default() as f64 / total;
    let permission = modes.get("permission").copied().unwrap_or_default() as f64 / total;
    assert!((0.02..0.04).contains(&private), "private share {private}");
    assert!((0.01..0.03).contains(&permission), "permission share {permission}");
}

#[test]
fn gallery_parent_is_majority_classification() {
    let fixture = fixture();

    // Members of each group gallery and their classifications, from the raw records.
    let mut classifications: HashMap<String, BTreeMap<String, usize>> = HashMap::new();
    for artwork in &fixture.artworks {
        if let Some(group) = &artwork.group {
            let name = artwork.classification.clone().unwrap_or_else(|| "unclassified".to_owned());
            *classifications.entry(format!("G0000grp{:08}", group.id)).or_default().entry(name).or_default() += 1;
        }
    }

    let collections = fixture.standin.fetch(&fixture.token, "/psapi/v4.0/collections");
    let mut parent_of: HashMap<String, String> = HashMap::new();
    for collection in collections["data"].as_array().expect("list") {
        let id = collection["id"].as_str().expect("id");
        let name = collection["attributes"]["name"].as_str().expect("name");
        let children =
            fixture.standin.fetch(&fixture.token, &format!("/psapi/v4.0/collections/{id}/children?per_page=1000"));
        let total = children["meta"]["paging"]["total"].as_u64().expect("total");
        for page in 1..=total.div_ceil(1000) {
            let children = fixture
                .standin
                .fetch(&fixture.token, &format!("/psapi/v4.0/collections/{id}/children?per_page=1000&page={page}"));
            for child in children["data"].as_array().expect("list") {
                let child_id = child["id"].as_str().expect("id").to_owned();
                assert!(parent_of.insert(child_id, name.to_owned()).is_none());
            }
        }
    }
    assert_eq!(parent_of.len(), fixture.galleries.len());

    for (gallery_id, counts) in &classifications {
        let max = counts.values().max().copied().unwrap_or_default();
        // Names iterate in sorted order, so the first with the maximum count wins ties.
        let expected =
            counts.iter().find(|(_, count)| **count == max).map(|(name, _)| name.as_str()).expect("a classification");
        assert_eq!(parent_of[gallery_id], expected, "{gallery_id}");
    }
}

#[test]
fn gallery_key_image_is_first_member_with_thumbnail() {
    let fixture = fixture();
    let with_thumbnail: BTreeSet<String> = fixture
        .artworks
        .iter()
        .filter(|artwork| artwork.thumbnail_url.is_some())
        .map(|artwork| media_id(&artwork.acno))
        .collect();

    let mut ids: Vec<&String> = fixture.galleries.keys().collect();
    ids.sort();
    for id in ids.iter().step_by(97) {
        let children =
            fixture.standin.fetch(&fixture.token, &format!("/psapi/v4.0/galleries/{id}/children?per_page=1000"));
        let expected = children["data"]
            .as_array()
            .expect("list")
            .iter()
            .map(|child| child["id"].as_str().expect("id"))
            .find(|child| with_thumbnail.contains(*child));
        let key_image = fixture.galleries[*id]["attributes"]["key_image_id"].as_str();
        assert_eq!(key_image, expected, "{id}");
    }
}
