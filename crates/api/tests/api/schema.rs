//! The root fields of API.md, with their arguments, as the SDL prints them.
//! Renaming one of these breaks web clients and widgets.

const QUERY: &[&str] = &[
    "node(id: ID!): Node",
    "site: Site!",
    "sections: [Section!]!",
    "section(slug: String!): Section",
    "article(id: ID, slug: String): Article",
    "articles(first: Int, after: String, last: Int, before: String, filter: ArticleFilter, orderBy: ArticleOrder): ArticleConnection!",
    "search(query: String!, first: Int, after: String, filter: ArticleFilter): SearchResultConnection!",
    "author(slug: String!): Author",
    "authors(first: Int, after: String): AuthorConnection!",
    "tag(slug: String!): Tag",
    "tags(first: Int, after: String, prefix: String): TagConnection!",
    "liveBlog(id: ID, slug: String): LiveBlog",
    "liveBlogs(status: LiveBlogStatus, first: Int, after: String): LiveBlogConnection!",
    "breakingNews: [BreakingNews!]!",
    "breakingNewsCursor: String!",
    "me: Viewer",
];

const SUBSCRIPTION: &[&str] = &[
    "liveBlog(id: ID!, after: String): LiveBlogEvent!",
    "breakingNews(after: String): BreakingNewsEvent!",
    "articlePublished(section: String, tag: String): Article!",
    "articleUpdated(id: ID!): Article!",
];

const MUTATION: &[&str] = &[
    "createArticle(input: CreateArticleInput!): Article!",
    "updateArticle(input: UpdateArticleInput!): Article!",
    "publishArticle(id: ID!, at: DateTime): Article!",
    "unpublishArticle(id: ID!): Article!",
    "archiveArticle(id: ID!): Article!",
    "deleteArticle(id: ID!): ID!",
    "createAuthor(input: CreateAuthorInput!): Author!",
    "updateAuthor(input: UpdateAuthorInput!): Author!",
    "createLiveBlog(input: CreateLiveBlogInput!): LiveBlog!",
    "updateLiveBlog(input: UpdateLiveBlogInput!): LiveBlog!",
    "setLiveBlogStatus(id: ID!, status: LiveBlogStatus!): LiveBlog!",
    "postLiveEntry(input: PostLiveEntryInput!): LiveEntry!",
    "editLiveEntry(input: EditLiveEntryInput!): LiveEntry!",
    "deleteLiveEntry(id: ID!): ID!",
    "pinLiveEntry(id: ID!, pinned: Boolean = true): LiveEntry!",
    "issueBreakingNews(input: IssueBreakingNewsInput!): BreakingNews!",
    "retractBreakingNews(id: ID!): BreakingNews!",
];

/// The field lines of `type NAME { … }`, docs left out.
fn fields(sdl: &str, name: &str) -> Vec<String> {
    let start = [
        format!("type {name} {{"),
        format!("type {name} implements "),
        format!("interface {name} {{"),
    ]
    .iter()
    .find_map(|head| sdl.find(head.as_str()))
    .unwrap_or_else(|| panic!("no type {name}"));
    let body = &sdl[start..];
    let body = &body[..body.find("\n}").unwrap()];
    let mut in_doc = false;
    body.lines()
        .skip(1)
        .map(str::trim)
        .filter(|line| {
            if *line == "\"\"\"" {
                in_doc = !in_doc;
                return false;
            }
            !in_doc && !line.is_empty()
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_query_root_is_the_contract_in_order() {
    assert_eq!(fields(&api::schema_sdl(), "Query"), QUERY);
}

#[test]
fn the_mutation_root_is_the_contract_in_order() {
    assert_eq!(fields(&api::schema_sdl(), "Mutation"), MUTATION);
}

#[test]
fn the_subscription_root_is_the_contract_in_order() {
    assert_eq!(fields(&api::schema_sdl(), "Subscription"), SUBSCRIPTION);
}

#[test]
fn events_implement_their_interfaces_with_a_cursor() {
    let sdl = api::schema_sdl();
    let common = ["cursor: String!", "occurredAt: DateTime!"];
    for (interface, events) in [
        (
            "LiveBlogEvent",
            &[
                ("LiveEntryPosted", "entry: LiveEntry!"),
                ("LiveEntryEdited", "entry: LiveEntry!"),
                ("LiveEntryDeleted", "entryId: ID!"),
                ("LiveEntryPinned", "pinned: Boolean!"),
                ("LiveBlogStatusChanged", "liveBlog: LiveBlog!"),
            ][..],
        ),
        (
            "BreakingNewsEvent",
            &[
                ("BreakingNewsIssued", "alert: BreakingNews!"),
                ("BreakingNewsRetracted", "alert: BreakingNews!"),
            ][..],
        ),
    ] {
        assert_eq!(fields(&sdl, interface), common, "{interface}");
        for (event, field) in events {
            assert!(
                sdl.contains(&format!("type {event} implements {interface} {{")),
                "{event}"
            );
            let fields = fields(&sdl, event);
            for expected in common.iter().chain([field]) {
                assert!(fields.iter().any(|f| f == expected), "{event}: {expected}");
            }
        }
    }
}

#[test]
fn every_object_with_an_id_is_a_node() {
    let sdl = api::schema_sdl();
    for ty in [
        "Article",
        "Author",
        "Tag",
        "Section",
        "LiveBlog",
        "LiveEntry",
        "BreakingNews",
    ] {
        assert!(
            sdl.contains(&format!("type {ty} implements Node {{")),
            "{ty}"
        );
    }
}

#[test]
fn live_blogs_offer_entries_around_an_entry_key_events_and_a_cursor() {
    let blog = fields(&api::schema_sdl(), "LiveBlog");
    for field in [
        "entries(first: Int, after: String, last: Int, before: String, keyEventsOnly: Boolean! = false, around: ID): LiveEntryConnection!",
        "pinnedEntry: LiveEntry",
        "keyEvents(first: Int = 10): [LiveEntry!]!",
        "cursor: String!",
    ] {
        assert!(blog.iter().any(|f| f == field), "missing {field}");
    }
}
