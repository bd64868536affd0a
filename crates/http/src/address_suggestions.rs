//! `GET .../carts/active/{billing,shipping}-address/suggestions[/{id}]` and the
//! `?suggestionid=` of `apply-{billing,shipping}-address`: the corrections
//! `domain::address_check` makes to the cart's address, computed from the stored address on
//! each read (the check is pure and local; no outside service is called).

use super::access::Limited;
use super::carts::{CartAddress, cart_address};
use super::shopper_api::{ApiQuery, ApiResult, not_found, path_id};
use super::views::Link;
use super::views::address::{
    AddressSuggestion, AddressSuggestionEnvelope, AddressSuggestions, AddressSuggestionsEnvelope,
};
use super::views::cart::CART;
use axum::extract::{Path, State};
use axum::response::Response;
use shopkeeper_domain::address::PostalAddress;
use shopkeeper_domain::address_check::{self, SUGGESTION_ID};
use shopkeeper_services::auth::Principal;
use shopkeeper_services::state::AppState;

/// The correction of the cart's billing (or shipping) address, if it needs one.
async fn suggested<A: CartAddress>(
    state: &AppState,
    p: &Principal,
) -> ApiResult<Option<PostalAddress>> {
    let address = cart_address::<A>(state, p).await?;
    Ok(address.as_ref().and_then(address_check::suggestion))
}

fn view<A: CartAddress>(q: &ApiQuery, address: PostalAddress) -> AddressSuggestion {
    let segment = A::SEGMENT;
    AddressSuggestion {
        uri: q.uri(&format!("{CART}/{segment}/suggestions/{SUGGESTION_ID}")),
        // The docs' link spells the parameter in lower case; `suggestionId` is taken too.
        apply_address: Link {
            uri: q.uri(&format!(
                "{CART}/apply-{segment}?suggestionid={SUGGESTION_ID}"
            )),
        },
        id: SUGGESTION_ID,
        country_name: address.country_name(),
        address,
    }
}

/// `GET .../billing-address/suggestions`, `GET .../shipping-address/suggestions`
pub async fn list_suggestions<A: CartAddress>(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
) -> ApiResult<Response> {
    let address = suggested::<A>(&state, &p)
        .await?
        .map(|a| view::<A>(&q, a))
        .into_iter()
        .collect();
    Ok(q.respond_with(&AddressSuggestionsEnvelope {
        suggestions: AddressSuggestions {
            uri: q.uri(&format!("{CART}/{}/suggestions", A::SEGMENT)),
            address,
        },
    }))
}

/// `GET .../billing-address/suggestions/{id}`, `GET .../shipping-address/suggestions/{id}`
pub async fn get_suggestion<A: CartAddress>(
    State(state): State<AppState>,
    Limited(p): Limited,
    Path(raw_id): Path<String>,
    q: ApiQuery,
) -> ApiResult<Response> {
    let what = "address suggestion";
    let address = match path_id(&raw_id, what)? {
        SUGGESTION_ID => suggested::<A>(&state, &p).await?,
        _ => None,
    }
    .ok_or_else(|| not_found(format!("{what} {raw_id:?}")))?;
    Ok(q.respond_with(&AddressSuggestionEnvelope {
        address: view::<A>(&q, address),
    }))
}
