//! The site, its publisher and the five sections, as any reader sees them.

use e2e::{TestApp, both_backends, data, error_code};
use serde_json::{Value, json};

const SECTION_SLUGS: [&str; 5] = [
    "international-relations",
    "domestic-policies",
    "economic-developments",
    "electoral-processes",
    "legislative-updates",
];

async fn the_site_names_its_publisher(app: &TestApp) {
    let response = app
        .query(
            "{ site { name url publisher { name registration address country } } }",
            json!({}),
        )
        .await;
    let site = &data(&response)["site"];
    assert!(
        !site["name"].as_str().expect("a name").is_empty(),
        "{site:#}"
    );
    let publisher = &site["publisher"];
    assert_eq!(publisher["name"], "SNOWLAND s.r.o.");
    assert_eq!(publisher["registration"], "06691200");
    assert_eq!(
        publisher["address"],
        "Na okraji 381/41, Veleslavín, 162 00 Praha 6"
    );
    assert_eq!(publisher["country"], "Czech Republic");
}

async fn the_five_sections_come_in_navigation_order(app: &TestApp) {
    let response = app
        .query("{ sections { id slug name position url } }", json!({}))
        .await;
    let sections = data(&response)["sections"]
        .as_array()
        .expect("a list")
        .clone();
    let slugs: Vec<&str> = sections
        .iter()
        .map(|s| s["slug"].as_str().expect("a slug"))
        .collect();
    assert_eq!(slugs, SECTION_SLUGS);
    let names: Vec<&str> = sections
        .iter()
        .map(|s| s["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(
        names,
        [
            "International Relations",
            "Domestic Policies",
            "Economic Developments",
            "Electoral Processes",
            "Legislative Updates"
        ]
    );
    for (i, section) in sections.iter().enumerate() {
        assert_eq!(section["position"], json!(i), "{section:#}");
        assert_eq!(section["url"], format!("/{}", SECTION_SLUGS[i]));
    }

    // The same list for the desk: sections are public.
    let as_desk = app.as_editor("{ sections { slug } }", json!({})).await;
    assert_eq!(data(&as_desk)["sections"].as_array().map(Vec::len), Some(5));

    // node(id) finds a section by the id the list gave.
    let id = sections[2]["id"].clone();
    let node = app
        .query(
            "query($id: ID!) { node(id: $id) { id ... on Section { slug } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data(&node)["node"]["slug"], "economic-developments");
}

async fn a_section_by_slug_or_null(app: &TestApp) {
    let query =
        "query($slug: String!) { section(slug: $slug) { slug name articles { totalCount } } }";
    for slug in SECTION_SLUGS {
        let response = app.query(query, json!({ "slug": slug })).await;
        let section = &data(&response)["section"];
        assert_eq!(section["slug"], slug);
        assert_eq!(
            section["articles"]["totalCount"], 0,
            "a fresh database has no articles"
        );
    }
    for unknown in [
        "no-such-section",
        "Domestic Policies",
        "",
        "international-relations-x",
    ] {
        let response = app.query(query, json!({ "slug": unknown })).await;
        assert_eq!(data(&response)["section"], Value::Null, "{unknown:?}");
    }
    // The argument is required: leaving it out is the client's mistake.
    let missing = app.query("{ section { slug } }", json!({})).await;
    assert_eq!(error_code(&missing), "BAD_USER_INPUT");
}

async fn node_ids_are_validated(app: &TestApp) {
    for bad in ["", "not-an-id", "!!!", "UGxhbmV0OjEyMw"] {
        let response = app
            .query(
                "query($id: ID!) { node(id: $id) { id } }",
                json!({ "id": bad }),
            )
            .await;
        assert_eq!(
            error_code(&response),
            "BAD_USER_INPUT",
            "{bad:?}: {response:#}"
        );
    }
}

both_backends! {
    site_names_its_publisher => the_site_names_its_publisher;
    sections_come_in_navigation_order => the_five_sections_come_in_navigation_order;
    section_by_slug_or_null => a_section_by_slug_or_null;
    node_ids_are_validated => node_ids_are_validated;
}
