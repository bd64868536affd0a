use crate::helpers::*;

#[tokio::test]
async fn anonymous_password_grant_gives_a_limited_token_with_the_site_ttl() {
    let app = spawn_app().await;
    let body = ok_json(app.public_token(&[("grant_type", "password")]).await).await;
    let pair = TokenPair::from(body);
    assert_eq!(pair.expires_in, SITE_TTL);
    assert_eq!(pair.access.len(), 64);
    let info = ok_json(app.access_tokens(&pair.access).await).await;
    assert_eq!(info["authenticated"], "false");
    assert_eq!(info["userId"], "Anonymous");
}
