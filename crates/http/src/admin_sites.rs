//! The Admin API's sites: a site's authorized billing and shipping countries
//! (`admin-apis/sites/`). `GET` answers the documented shape (every country each locale's
//! setting allows); `PUT` (Shopkeeper's own: Global Commerce sets this in its UI, README says
//! so) takes the same shape plus each locale's option and answers the new `GET`. Both need the
//! Site Manager role (`master/getting-started/roles-and-permissions.md`); `{siteId}` is the
//! caller's key's site, any other is 404.

use crate::admin::Admin;
use crate::admin_error::{AdminError, AdminErrors};
use crate::views::sites::{
    AuthorizedBillingCountries, AuthorizedShippingCountries, LocaleCountries, locale_countries,
};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shopkeeper_domain::authorized_countries::{Kind, LocalePolicy, Mode, check_locale};
use shopkeeper_services::state::AppState;
use shopkeeper_store::CountriesChange;

/// Most locales one `PUT` may set.
const MAX_LOCALES: usize = 100;
/// Most countries one locale's entry may list (the ISO table has 249).
const MAX_COUNTRIES: usize = 500;

/// One of the two resources, as its routes name it.
pub trait CountriesOf: Send + 'static {
    const KIND: Kind;
    /// The answer's (and the body's) top-level field.
    const FIELD: &'static str;
    /// The body's name of the option.
    const OPTION: &'static str;
    fn answer(list: Vec<LocaleCountries>) -> Response;
}

pub struct Billing;

impl CountriesOf for Billing {
    const KIND: Kind = Kind::Billing;
    const FIELD: &'static str = "authorizedBillingCountries";
    const OPTION: &'static str = "allowBillingFrom";
    fn answer(list: Vec<LocaleCountries>) -> Response {
        Json(AuthorizedBillingCountries {
            authorized_billing_countries: list,
        })
        .into_response()
    }
}

pub struct Shipping;

impl CountriesOf for Shipping {
    const KIND: Kind = Kind::Shipping;
    const FIELD: &'static str = "authorizedShippingCountries";
    const OPTION: &'static str = "allowShippingTo";
    fn answer(list: Vec<LocaleCountries>) -> Response {
        Json(AuthorizedShippingCountries {
            authorized_shipping_countries: list,
        })
        .into_response()
    }
}

/// `{siteId}` when it is the caller's site; any other (of nobody, or another merchant's) is the
/// same 404, so a key learns nothing of other sites.
fn own_site(admin: &Admin, raw: &str) -> Result<(), AdminError> {
    if admin.site_id.as_str() == raw {
        Ok(())
    } else {
        Err(AdminError::not_found(
            "invalid-site-id",
            format!("site {raw:?} not found"),
        ))
    }
}

/// `?locale=` (the only parameter besides the key's), checked.
fn locale_param(query: Option<&str>) -> Result<Option<String>, AdminError> {
    let mut locale = None;
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if name == "locale" {
            if locale.is_some() {
                return Err(AdminError::invalid(
                    "invalid-locale",
                    "locale is given more than once",
                ));
            }
            check_locale(&value)
                .map_err(|e| AdminError::invalid("invalid-locale", e.to_string()))?;
            locale = Some(value.into_owned());
        }
    }
    Ok(locale)
}

/// The answer of a `GET` (and of a `PUT`).
async fn listed<C: CountriesOf>(
    state: &AppState,
    admin: &Admin,
    locale: Option<&str>,
) -> Result<Response, AdminError> {
    let (policies, site) = tokio::try_join!(
        state.store.authorized_countries(&admin.site_id),
        state.store.site(&admin.site_id),
    )?;
    let site = site.ok_or_else(|| AdminError::not_found("invalid-site-id", "site not found"))?;
    Ok(C::answer(locale_countries(
        &policies,
        C::KIND,
        &site.locale,
        locale,
    )))
}

/// `GET /v1/sites/{siteId}/authorized-billing-countries[?locale=]`,
/// `GET /v1/sites/{siteId}/authorized-shipping-countries[?locale=]`
async fn get_countries<C: CountriesOf>(
    admin: Admin,
    State(state): State<AppState>,
    Path(site): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, AdminError> {
    own_site(&admin, &site)?;
    let locale = locale_param(query.as_deref())?;
    listed::<C>(&state, &admin, locale.as_deref()).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CountryEntry {
    country_code: String,
    /// Read back from a `GET` answer; the name is ISO 3166's, whatever is sent.
    #[serde(default)]
    #[allow(dead_code)]
    display_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LocaleEntry {
    /// None: the site's default locale.
    locale: Option<String>,
    /// `allowBillingFrom` / `allowShippingTo` (read under either name, checked against the
    /// resource's below).
    #[serde(alias = "allowBillingFrom", alias = "allowShippingTo")]
    option: Option<String>,
    #[serde(default)]
    countries: Vec<CountryEntry>,
    comments: Option<String>,
    /// `true`: the locale follows the default locale's setting again.
    #[serde(default)]
    inherit: bool,
}

/// The body: `{"authorizedBillingCountries": [{"locale", "allowBillingFrom", "countries":
/// [{"countryCode"}], "comments"}]}` (or `inherit: true` instead of the option).
/// The site's own locale (`default_locale`) names the default locale's entry, as no locale does.
fn changes<C: CountriesOf>(
    body: &[u8],
    default_locale: &str,
) -> Result<Vec<CountriesChange>, AdminError> {
    let invalid = |m: String| AdminError::invalid("invalid-body", m);
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| invalid(format!("the body is not JSON: {e}")))?;
    let object = value
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.get(C::FIELD))
        .ok_or_else(|| invalid(format!("the body must be {{\"{}\": [...]}}", C::FIELD)))?;
    // Each entry read alone, so a wrong option name is named.
    let entries = object
        .as_array()
        .ok_or_else(|| invalid(format!("{} must be a list of locales", C::FIELD)))?;
    if entries.is_empty() || entries.len() > MAX_LOCALES {
        return Err(invalid(format!(
            "{} must list 1 to {MAX_LOCALES} locales",
            C::FIELD
        )));
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::with_capacity(entries.len());
    for (i, raw) in entries.iter().enumerate() {
        let at = format!("{}[{i}]", C::FIELD);
        let other_option = if C::OPTION == "allowBillingFrom" {
            "allowShippingTo"
        } else {
            "allowBillingFrom"
        };
        if raw.get(other_option).is_some() || raw.get("option").is_some() {
            return Err(invalid(format!("{at}: the option is {}", C::OPTION)));
        }
        let mut entry: LocaleEntry =
            serde_json::from_value(raw.clone()).map_err(|e| invalid(format!("{at}: {e}")))?;
        if let Some(l) = &entry.locale {
            check_locale(l)
                .map_err(|e| AdminError::invalid("invalid-locale", format!("{at}: {e}")))?;
        }
        if entry.locale.as_deref() == Some(default_locale) {
            entry.locale = None;
        }
        if !seen.insert(entry.locale.clone()) {
            return Err(invalid(format!("{at}: a locale is listed more than once")));
        }
        let setting = match (entry.inherit, entry.option.as_deref()) {
            (true, None) if entry.locale.is_some() && entry.countries.is_empty() => None,
            (true, _) => {
                return Err(invalid(format!(
                    "{at}: inherit takes a locale other than the default one, and neither {} \
                     nor countries",
                    C::OPTION
                )));
            }
            (false, None) => return Err(invalid(format!("{at}: {} is required", C::OPTION))),
            (false, Some(raw)) => {
                let mode = Mode::from_option_name(raw)
                    .filter(|m| m.fits(C::KIND))
                    .ok_or_else(|| {
                        let options: Vec<&str> = [
                            Mode::Any,
                            Mode::AllExceptDenied,
                            Mode::AllowedOnly,
                            Mode::AuthorizedBilling,
                        ]
                        .into_iter()
                        .filter(|m| m.fits(C::KIND))
                        .map(Mode::option_name)
                        .collect();
                        invalid(format!(
                            "{at}.{}: {raw:?} is none of {}",
                            C::OPTION,
                            options.join(", ")
                        ))
                    })?;
                if entry.countries.len() > MAX_COUNTRIES {
                    return Err(invalid(format!(
                        "{at}.countries: at most {MAX_COUNTRIES} countries"
                    )));
                }
                let codes: Vec<&str> = entry
                    .countries
                    .iter()
                    .map(|c| c.country_code.as_str())
                    .collect();
                Some(
                    LocalePolicy::checked(C::KIND, mode, &codes, entry.comments.as_deref())
                        .map_err(|e| {
                            AdminError::invalid("invalid-country-setting", format!("{at}: {e}"))
                        })?,
                )
            }
        };
        out.push(CountriesChange {
            locale: entry.locale,
            setting,
        });
    }
    Ok(out)
}

/// `PUT /v1/sites/{siteId}/authorized-billing-countries`,
/// `PUT /v1/sites/{siteId}/authorized-shipping-countries`: sets the locales listed (the others
/// keep theirs), with an audit row and a `site.updated` event in the same transaction;
/// answers the `GET` of every locale.
async fn put_countries<C: CountriesOf>(
    admin: Admin,
    State(state): State<AppState>,
    Path(site): Path<String>,
    body: Bytes,
) -> Result<Response, AdminError> {
    own_site(&admin, &site)?;
    let site = state
        .store
        .site(&admin.site_id)
        .await?
        .ok_or_else(|| AdminError::not_found("invalid-site-id", "site not found"))?;
    let changes = changes::<C>(&body, &site.locale)?;
    state
        .store
        .set_authorized_countries(
            &admin.site_id,
            C::KIND,
            &changes,
            state.clock.now(),
            Some(&admin.actor()),
        )
        .await?;
    listed::<C>(&state, &admin, None).await
}

#[utoipa::path(
    get,
    path = "/v1/sites/{siteId}/authorized-billing-countries",
    tag = "admin",
    description = "The countries the site's billing addresses may be in, per locale: the \
                   default locale and each customized one, or `locale` alone. Access: `/auth` \
                   with the Site Manager role.",
    params(
        ("siteId" = String, Path, description = "The caller's key's site"),
        ("locale" = Option<String>, Query, description = "e.g. en_US: that locale alone"),
    ),
    responses(
        (status = 200, description = "The authorized billing countries", body = AuthorizedBillingCountries),
        (status = 400, description = "A malformed locale", body = AdminErrors),
        (status = 401, description = "No staff token", body = AdminErrors),
        (status = 403, description = "Not a Site Manager", body = AdminErrors),
        (status = 404, description = "Not the caller's site", body = AdminErrors),
    ),
    security(("bearer" = []))
)]
pub async fn get_billing_countries(
    admin: Admin,
    state: State<AppState>,
    site: Path<String>,
    query: RawQuery,
) -> Result<Response, AdminError> {
    get_countries::<Billing>(admin, state, site, query).await
}

#[utoipa::path(
    get,
    path = "/v1/sites/{siteId}/authorized-shipping-countries",
    tag = "admin",
    description = "The countries the site's shipping addresses may be in, per locale: the \
                   default locale and each customized one, or `locale` alone. Access: `/auth` \
                   with the Site Manager role.",
    params(
        ("siteId" = String, Path, description = "The caller's key's site"),
        ("locale" = Option<String>, Query, description = "e.g. en_US: that locale alone"),
    ),
    responses(
        (status = 200, description = "The authorized shipping countries", body = AuthorizedShippingCountries),
        (status = 400, description = "A malformed locale", body = AdminErrors),
        (status = 401, description = "No staff token", body = AdminErrors),
        (status = 403, description = "Not a Site Manager", body = AdminErrors),
        (status = 404, description = "Not the caller's site", body = AdminErrors),
    ),
    security(("bearer" = []))
)]
pub async fn get_shipping_countries(
    admin: Admin,
    state: State<AppState>,
    site: Path<String>,
    query: RawQuery,
) -> Result<Response, AdminError> {
    get_countries::<Shipping>(admin, state, site, query).await
}

#[utoipa::path(
    put,
    path = "/v1/sites/{siteId}/authorized-billing-countries",
    tag = "admin",
    description = "Beyond the docs (Global Commerce sets this in its UI): sets the listed \
                   locales' \"Allow Billing From\" option (`any-country`, \
                   `any-country-except-denied`, `only-allowed-countries`), its countries and \
                   comments, or `inherit: true`. Body: `{\"authorizedBillingCountries\": \
                   [{\"locale\", \"allowBillingFrom\", \"countries\": [{\"countryCode\"}], \
                   \"comments\"}]}`. Writes an audit row and a `site.updated` event. Access: \
                   `/auth` with the Site Manager role.",
    params(("siteId" = String, Path, description = "The caller's key's site")),
    request_body(content = Object, content_type = "application/json"),
    responses(
        (status = 200, description = "The new authorized billing countries", body = AuthorizedBillingCountries),
        (status = 400, description = "A bad body", body = AdminErrors),
        (status = 401, description = "No staff token", body = AdminErrors),
        (status = 403, description = "Not a Site Manager", body = AdminErrors),
        (status = 404, description = "Not the caller's site", body = AdminErrors),
    ),
    security(("bearer" = []))
)]
pub async fn put_billing_countries(
    admin: Admin,
    state: State<AppState>,
    site: Path<String>,
    body: Bytes,
) -> Result<Response, AdminError> {
    put_countries::<Billing>(admin, state, site, body).await
}

#[utoipa::path(
    put,
    path = "/v1/sites/{siteId}/authorized-shipping-countries",
    tag = "admin",
    description = "Beyond the docs (Global Commerce sets this in its UI): sets the listed \
                   locales' \"Allow Shipping To\" option (`any-country`, \
                   `any-authorized-billing-country`, `any-country-except-denied`, \
                   `only-allowed-countries`), its countries and comments, or `inherit: true`. \
                   Body: `{\"authorizedShippingCountries\": [{\"locale\", \"allowShippingTo\", \
                   \"countries\": [{\"countryCode\"}], \"comments\"}]}`. Writes an audit row and \
                   a `site.updated` event. Access: `/auth` with the Site Manager role.",
    params(("siteId" = String, Path, description = "The caller's key's site")),
    request_body(content = Object, content_type = "application/json"),
    responses(
        (status = 200, description = "The new authorized shipping countries", body = AuthorizedShippingCountries),
        (status = 400, description = "A bad body", body = AdminErrors),
        (status = 401, description = "No staff token", body = AdminErrors),
        (status = 403, description = "Not a Site Manager", body = AdminErrors),
        (status = 404, description = "Not the caller's site", body = AdminErrors),
    ),
    security(("bearer" = []))
)]
pub async fn put_shipping_countries(
    admin: Admin,
    state: State<AppState>,
    site: Path<String>,
    body: Bytes,
) -> Result<Response, AdminError> {
    put_countries::<Shipping>(admin, state, site, body).await
}
