// The Northern Courier's page scripts: fill the front page, an article or a gallery page from
// the edge API (same origin) and place the loci widget. The pages stay usable when the API or
// the widget fails, because every failure leaves a text fallback or a notice on the page.
(() => {
  "use strict";

  const WIDGET_SCRIPT = "dist/loci.js";
  const MEDIA_ID = /^(I0000|VD000|AD000|DO000)[A-Za-z0-9._]{11}$/;
  const GALLERY_ID = /^G0000[A-Za-z0-9._]{11}$/;

  // Editorial copy for the featured artworks, keyed by PhotoShelter media id. Other artworks
  // get a short text built from their catalogue record.
  const FEATURES = {
    I000000000N00530: {
      kicker: "Painting",
      standfirst: "Turner's blizzard at sea is less a picture of a boat than of weather itself.",
      body: [
        "Stand close to Snow Storm and the steam-boat nearly disappears. A dark hull and a mast sit at the centre of a vortex of grey, ochre and white, and everything else, sea, snow and smoke, turns around them in long curving strokes.",
        "Turner showed the canvas at the Royal Academy in 1842 with a long title that insisted on its truth: the author, it claimed, had been in the storm himself. Critics of the day were unconvinced and called it soapsuds and whitewash. Today it reads as one of the boldest paintings of its century.",
        "The painting came to the nation with the Turner Bequest in 1856, together with the thousands of sketches and watercolours that still make up the largest part of the collection.",
      ],
    },
    I000000000N01506: {
      kicker: "Pre-Raphaelites",
      standfirst: "Millais painted the riverbank first and the drowning girl months later.",
      body: [
        "Ophelia floats on her back, hands open, singing as the river takes her. Around her every leaf and flower is painted with the same close attention, from the willow above to the nettles and forget-me-nots at the water's edge.",
        "Millais spent the summer and autumn of 1851 beside the Hogsmill River near Ewell in Surrey, painting the bank outdoors. The figure was added in his London studio, where Elizabeth Siddal posed in a bath of water kept warm by lamps underneath.",
        "The painting was presented to the nation by Sir Henry Tate in 1894 and has been one of the gallery's most visited works ever since.",
      ],
    },
    I000000000N05058: {
      kicker: "Prints and drawings",
      standfirst: "Blake's scientist measures the world and misses it.",
      body: [
        "Newton sits naked on a rock covered in algae, bent double over a diagram, a pair of compasses in his hand. The body is drawn with heroic care, but his gaze stays on the scroll at his feet.",
        "Blake made the image as a colour print, pressing paint from a board onto paper, and finished it by hand in ink and watercolour. The mottled textures of the rock come from that printing process.",
        "For Blake, reason alone narrowed vision. The picture is admiring and critical at once: a beautiful figure absorbed in a measurement while the richness of the world around him goes unseen.",
      ],
    },
    I000000000N00310: {
      kicker: "Landscape",
      standfirst: "A portrait painter's landscape: tired horses, a stream and the last of the light.",
      body: [
        "Gainsborough earned his living with portraits, but landscapes were the pictures he painted for himself. Here a cart has stopped at a stream so the horses can drink at the end of the day.",
        "The scene is loosely brushed: the trees dissolve into warm browns and greens, and the sunset glows through a gap in the woods behind the riders.",
        "The painting was presented by Robert Vernon in 1847, one of the gifts that founded the national collection of British art.",
      ],
    },
    I000000000N02426: {
      kicker: "Prints",
      standfirst: "Whistler's Thames: warehouses, barges and a man on the foreshore.",
      body: [
        "Black Lion Wharf belongs to the set of etchings Whistler made along the Thames soon after arriving in London. A row of warehouses fills the background, every sign and window drawn with a fine needle.",
        "In the foreground a man sits in the mud by the river, his back to the viewer, while barges and rowing boats crowd the water between him and the wharves.",
      ],
    },
  };

  // Fetches JSON from the edge API. A non-2xx response throws an Error with the problem's detail.
  const fetchJson = async (path) => {
    const response = await fetch(path, { headers: { accept: "application/json" } });
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const detail = body && typeof body.detail === "string" ? body.detail : response.statusText;
      throw new Error("HTTP " + response.status + ": " + detail);
    }
    return body;
  };

  const element = (tag, attributes, children) => {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value !== undefined && value !== null) node.setAttribute(name, String(value));
    }
    for (const child of [].concat(children || [])) {
      if (child !== undefined && child !== null) node.append(child);
    }
    return node;
  };

  const showNotice = (container, message) => {
    container.replaceChildren(element("p", { class: "notice", role: "status" }, message));
  };

  // Places the loci widget's script tag where `slot` is. The loader adds the widget after it.
  const insertWidget = (slot, attributes) => {
    const script = element("script", { src: WIDGET_SCRIPT, async: "" });
    for (const [name, value] of Object.entries(attributes)) {
      script.setAttribute("data-" + name, String(value));
    }
    slot.replaceWith(script);
  };

  // Replaces a picture box's text with the asset's image, keeping the text if the image fails.
  const fillPicture = (box, card) => {
    const image = element("img", {
      src: card.image_url,
      alt: card.title + (card.creator ? ", by " + card.creator : ""),
      width: card.width || 400,
      height: card.height || 300,
      loading: "lazy",
    });
    image.addEventListener("error", () => {
      image.remove();
      box.classList.add("picture-missing");
    });
    box.classList.remove("picture-missing");
    box.prepend(image);
  };

  const queryParameter = (name) => new URLSearchParams(window.location.search).get(name) || "";

  const renderFrontPage = () => {
    for (const box of document.querySelectorAll(".picture[data-asset]")) {
      fetchJson("/v1/assets/" + encodeURIComponent(box.dataset.asset)).then(
        (card) => fillPicture(box, card),
        () => {
          // The teaser keeps its text-only picture box.
        },
      );
    }
  };

  const renderArticle = async () => {
    const container = document.getElementById("article");
    const id = queryParameter("asset");
    if (!MEDIA_ID.test(id)) {
      showNotice(container, "This article could not be found. Choose one from the front page.");
      return;
    }

    const feature = FEATURES[id];
    const slot = element("div", { id: "related-slot" });
    let card = null;
    try {
      card = await fetchJson("/v1/assets/" + encodeURIComponent(id));
    } catch (error) {
      showNotice(container, "This artwork is not available at the moment (" + error.message + ").");
      container.append(slot);
      insertWidget(slot, { placement: "article-related", context: "asset:" + id, count: 8, layout: "grid" });
      return;
    }

    document.title = card.title + " | The Northern Courier";
    const header = element("header", { class: "article-header" }, [
      element("p", { class: "kicker" }, feature ? feature.kicker : "From the collection"),
      element("h1", {}, card.title),
      element("p", { class: "standfirst" }, feature ? feature.standfirst : card.caption || ""),
      element("p", { class: "byline" }, card.creator ? "On a work by " + card.creator : "Artist unknown"),
    ]);

    const image = element("img", {
      src: card.image_url,
      alt: card.caption || card.title,
      width: card.width || 800,
      height: card.height || 600,
    });
    const figure = element("figure", { class: "artwork" }, [
      image,
      element("figcaption", {}, [
        [card.creator, card.caption || card.title].filter(Boolean).join(", "),
        card.credit ? element("span", { class: "credit" }, card.credit) : null,
      ]),
    ]);
    image.addEventListener("error", () => {
      image.replaceWith(element("div", { class: "picture picture-missing" }, card.title));
    });

    const paragraphs = feature
      ? feature.body
      : [
          card.caption || card.title,
          "This work is part of the collection we follow in these pages. More works by the same artist and on related subjects are listed below.",
        ];
    const body = element("div", { class: "article-body" }, paragraphs.map((text) => element("p", {}, text)));
    body.append(slot);

    container.replaceChildren(header, figure, body);
    insertWidget(slot, { placement: "article-related", context: "asset:" + id, count: 8, layout: "grid" });
  };

  const renderGallery = async () => {
    const container = document.getElementById("gallery");
    const id = queryParameter("gallery");
    if (!GALLERY_ID.test(id)) {
      showNotice(container, "This gallery could not be found. Choose one from the front page.");
      return;
    }

    const slot = element("div", { id: "related-slot" });
    let gallery = null;
    try {
      gallery = await fetchJson("/v1/galleries/" + encodeURIComponent(id));
    } catch (error) {
      showNotice(container, "This gallery is not available at the moment (" + error.message + ").");
      container.append(slot);
      insertWidget(slot, { placement: "gallery-related", context: "gallery:" + id, count: 12, layout: "grid" });
      return;
    }

    document.title = gallery.name + " | The Northern Courier";
    const count = gallery.asset_count === 1 ? "1 artwork" : gallery.asset_count + " artworks";
    const header = element("header", { class: "article-header" }, [
      element("p", { class: "kicker" }, "Gallery"),
      element("h1", {}, gallery.name),
      gallery.description ? element("p", { class: "standfirst" }, gallery.description) : null,
      element("p", { class: "gallery-facts" }, count + " in the collection"),
    ]);
    const body = element("div", { class: "article-body" }, [slot]);
    const parts = [header];
    if (gallery.cover_image_url) {
      const cover = element("img", { src: gallery.cover_image_url, alt: "Cover of the gallery " + gallery.name });
      cover.addEventListener("error", () => cover.closest("figure").remove());
      parts.push(element("figure", { class: "artwork" }, cover));
    }
    parts.push(body);

    container.replaceChildren(...parts);
    insertWidget(slot, { placement: "gallery-related", context: "gallery:" + id, count: 12, layout: "grid" });
  };

  const pages = { front: renderFrontPage, article: renderArticle, gallery: renderGallery };
  const render = pages[document.body.dataset.page];
  if (render) {
    Promise.resolve()
      .then(render)
      .catch((error) => console.warn("The Northern Courier: the page could not be built", error));
  }
})();
