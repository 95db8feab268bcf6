//! Authors: the desk creates and edits them; readers find them by slug and
//! page through them by name.

use e2e::{TestApp, both_backends, data, error_code};
use serde_json::{Value, json};

const CREATE_AUTHOR: &str = "mutation($input: CreateAuthorInput!) {
    createAuthor(input: $input) { id slug name title bio avatarUrl url } }";
const UPDATE_AUTHOR: &str = "mutation($input: UpdateAuthorInput!) {
    updateAuthor(input: $input) { id slug name title bio avatarUrl } }";
const AUTHOR: &str =
    "query($slug: String!) { author(slug: $slug) { id slug name title bio avatarUrl } }";

async fn create_author(app: &TestApp, name: &str) -> Value {
    let response = app
        .as_editor(CREATE_AUTHOR, json!({ "input": { "name": name } }))
        .await;
    data(&response)["createAuthor"].clone()
}

fn slugs(connection: &Value) -> Vec<String> {
    connection["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["slug"].as_str().expect("a slug").to_owned())
        .collect()
}

async fn authors_are_created_and_edited(app: &TestApp) {
    let response = app
        .as_editor(
            CREATE_AUTHOR,
            json!({ "input": {
                "name": "  Zdeňka Říhová-Šťastná ",
                "title": "Chief political correspondent",
                "bio": "Covers the Chamber of Deputies.\nBased in Prague.",
                "avatarUrl": "https://images.example.com/authors/zr.jpg",
            }}),
        )
        .await;
    let author = data(&response)["createAuthor"].clone();
    assert_eq!(
        author["slug"], "zdenka-rihova-stastna",
        "the slug folds Czech diacritics"
    );
    assert_eq!(
        author["name"], "Zdeňka Říhová-Šťastná",
        "the name is trimmed, its letters kept"
    );
    assert_eq!(author["title"], "Chief political correspondent");
    assert_eq!(
        author["bio"],
        "Covers the Chamber of Deputies.\nBased in Prague."
    );
    assert_eq!(
        author["avatarUrl"],
        "https://images.example.com/authors/zr.jpg"
    );
    assert_eq!(author["url"], "/authors/zdenka-rihova-stastna");

    // Readers find the author by slug; an unknown slug is null.
    let read = app
        .query(AUTHOR, json!({ "slug": "zdenka-rihova-stastna" }))
        .await;
    assert_eq!(data(&read)["author"]["id"], author["id"]);
    assert_eq!(
        data(&read)["author"]["title"],
        "Chief political correspondent"
    );
    let unknown = app.query(AUTHOR, json!({ "slug": "nobody-at-all" })).await;
    assert_eq!(data(&unknown)["author"], Value::Null);

    // A partial update changes only what it names.
    let updated = app
        .as_editor(
            UPDATE_AUTHOR,
            json!({ "input": { "id": author["id"], "title": "Deputy editor", "bio": "Runs the politics desk." } }),
        )
        .await;
    let updated = &data(&updated)["updateAuthor"];
    assert_eq!(updated["title"], "Deputy editor");
    assert_eq!(updated["bio"], "Runs the politics desk.");
    assert_eq!(updated["name"], "Zdeňka Říhová-Šťastná");
    assert_eq!(
        updated["slug"], "zdenka-rihova-stastna",
        "renaming nothing keeps the slug"
    );
    assert_eq!(
        updated["avatarUrl"], "https://images.example.com/authors/zr.jpg",
        "left out stays"
    );

    // A refused update changes nothing, not even its valid fields; keeping
    // one's own slug is no clash.
    let half_bad = app
        .as_editor(UPDATE_AUTHOR, json!({ "input": { "id": author["id"], "title": "Editor-in-chief", "avatarUrl": "javascript:x()" } }))
        .await;
    assert_eq!(error_code(&half_bad), "BAD_USER_INPUT");
    let own_slug = app
        .as_editor(
            UPDATE_AUTHOR,
            json!({ "input": { "id": author["id"], "slug": "zdenka-rihova-stastna" } }),
        )
        .await;
    assert_eq!(
        data(&own_slug)["updateAuthor"]["title"],
        "Deputy editor",
        "the refused title was not stored"
    );
    let unknown = app
        .as_editor(UPDATE_AUTHOR, json!({ "input": { "id": "QXV0aG9yOjAxOTMwMDAwLTAwMDAtNzAwMC04MDAwLTAwMDAwMDAwMDAwMA", "title": "Ghost" } }))
        .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");

    // An explicit null clears the avatar.
    let cleared = app
        .as_editor(
            UPDATE_AUTHOR,
            json!({ "input": { "id": author["id"], "avatarUrl": null } }),
        )
        .await;
    assert_eq!(data(&cleared)["updateAuthor"]["avatarUrl"], Value::Null);
    let read = app
        .query(AUTHOR, json!({ "slug": "zdenka-rihova-stastna" }))
        .await;
    let read = &data(&read)["author"];
    assert_eq!(read["avatarUrl"], Value::Null, "the clearing was stored");
    assert_eq!(read["title"], "Deputy editor");

    // node(id) finds the author too.
    let node = app
        .query(
            "query($id: ID!) { node(id: $id) { __typename ... on Author { slug } } }",
            json!({ "id": author["id"] }),
        )
        .await;
    assert_eq!(data(&node)["node"]["__typename"], "Author");
    assert_eq!(data(&node)["node"]["slug"], "zdenka-rihova-stastna");
}

async fn bad_author_writes_are_refused_and_change_nothing(app: &TestApp) {
    let first = create_author(app, "Jiří Dvořák").await;
    assert_eq!(first["slug"], "jiri-dvorak");

    // Same name, same derived slug; and an explicit duplicate slug.
    let again = app
        .as_editor(CREATE_AUTHOR, json!({ "input": { "name": "Jiri Dvorak" } }))
        .await;
    assert_eq!(error_code(&again), "CONFLICT", "{again:#}");
    let explicit = app
        .as_editor(
            CREATE_AUTHOR,
            json!({ "input": { "name": "Other", "slug": "jiri-dvorak" } }),
        )
        .await;
    assert_eq!(error_code(&explicit), "CONFLICT");
    // Renaming another author's slug onto it conflicts too.
    let second = create_author(app, "Petra Malá").await;
    let clash = app
        .as_editor(
            UPDATE_AUTHOR,
            json!({ "input": { "id": second["id"], "slug": "jiri-dvorak" } }),
        )
        .await;
    assert_eq!(error_code(&clash), "CONFLICT");

    for bad in [
        "javascript:alert(1)",
        "not a url",
        "/relative/avatar.png",
        "ftp://example.com/a.png",
    ] {
        let response = app
            .as_editor(
                CREATE_AUTHOR,
                json!({ "input": { "name": "Avatar Tester", "avatarUrl": bad } }),
            )
            .await;
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{bad}");
        let response = app
            .as_editor(
                UPDATE_AUTHOR,
                json!({ "input": { "id": first["id"], "avatarUrl": bad } }),
            )
            .await;
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{bad}");
    }
    for bad in [
        json!({ "name": "   " }),
        json!({ "name": "Valid Name", "slug": "Not A Slug" }),
    ] {
        let response = app.as_editor(CREATE_AUTHOR, json!({ "input": bad })).await;
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{bad}");
    }
    // A section's id where an author's is expected, and a malformed id.
    let sections = app.query("{ sections { id } }", json!({})).await;
    let section_id = data(&sections)["sections"][0]["id"].clone();
    for id in [section_id, json!("QXJ0aWNsZQ")] {
        let wrong = app
            .as_editor(
                UPDATE_AUTHOR,
                json!({ "input": { "id": id, "title": "x" } }),
            )
            .await;
        assert_eq!(error_code(&wrong), "BAD_USER_INPUT", "{id}");
    }

    let anonymous = app
        .query(
            CREATE_AUTHOR,
            json!({ "input": { "name": "Anonymous Author" } }),
        )
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    let anonymous = app
        .query(
            UPDATE_AUTHOR,
            json!({ "input": { "id": first["id"], "title": "Hacked" } }),
        )
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");

    // Nothing of the above was written.
    let all = app
        .query(
            "{ authors(first: 100) { totalCount edges { node { slug title avatarUrl } } } }",
            json!({}),
        )
        .await;
    let all = &data(&all)["authors"];
    assert_eq!(all["totalCount"], 2, "{all:#}");
    assert_eq!(slugs(all), ["jiri-dvorak", "petra-mala"]);
    assert_eq!(all["edges"][0]["node"]["title"], "");
    assert_eq!(all["edges"][0]["node"]["avatarUrl"], Value::Null);
}

async fn authors_page_by_name(app: &TestApp) {
    // First letters without diacritics: collation of `Č` differs between
    // backends, and the contract only says "by name".
    for name in [
        "Eva Zelená",
        "Adam Černý",
        "Ondřej Bílý",
        "Marta Nová",
        "Bohumil Rychlý",
    ] {
        create_author(app, name).await;
    }
    // A namesake: same name, own slug. Paging must not skip or repeat
    // either of the two when a page ends between them.
    let namesake = app
        .as_editor(
            CREATE_AUTHOR,
            json!({ "input": { "name": "Marta Nová", "slug": "marta-nova-2" } }),
        )
        .await;
    assert_eq!(data(&namesake)["createAuthor"]["slug"], "marta-nova-2");
    let query = "query($first: Int, $after: String) { authors(first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { cursor node { slug name } } } }";
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = app
            .query(query, json!({ "first": 1, "after": after }))
            .await;
        let page = data(&page)["authors"].clone();
        assert_eq!(page["totalCount"], 6, "totalCount counts the whole list");
        seen.extend(slugs(&page));
        if !page["pageInfo"]["hasNextPage"]
            .as_bool()
            .expect("hasNextPage")
        {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
        assert!(seen.len() < 12, "paging does not end: {seen:?}");
    }
    assert_eq!(seen.len(), 6, "each author once: {seen:?}");
    // Namesakes sit together in name order; between them any stable order.
    let mut namesakes = seen[3..5].to_vec();
    namesakes.sort();
    assert_eq!(
        namesakes,
        ["marta-nova", "marta-nova-2"],
        "namesakes together, in place: {seen:?}"
    );
    assert_eq!(
        seen[..3],
        ["adam-cerny", "bohumil-rychly", "eva-zelena"],
        "by name: {seen:?}"
    );
    assert_eq!(seen[5], "ondrej-bily", "by name: {seen:?}");

    for (first, code) in [(-1, "BAD_USER_INPUT"), (101, "BAD_USER_INPUT")] {
        let response = app.query(query, json!({ "first": first })).await;
        assert_eq!(error_code(&response), code, "first: {first}");
    }
    let bogus = app
        .query(query, json!({ "first": 2, "after": "bm90LWEtY3Vyc29y" }))
        .await;
    assert_eq!(error_code(&bogus), "CURSOR_INVALID");
}

both_backends! {
    authors_are_created_and_edited => authors_are_created_and_edited;
    bad_author_writes_are_refused => bad_author_writes_are_refused_and_change_nothing;
    authors_page_by_name => authors_page_by_name;
}
