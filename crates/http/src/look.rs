//! How the hosted pages (the sign-in page, the web checkout) show a site: its title, its brand
//! colour with text kept at WCAG AA contrast, and `lang` from its locale (`templates/base.html`).

use shopkeeper_domain::site::{AA_TEXT_CONTRAST, Rgb, contrast_ratio, html_lang, text_color_on};
use shopkeeper_store::SiteBranding;

/// How the hosted pages show a site (`templates/base.html`).
pub(crate) struct Look {
    pub(crate) title: String,
    /// `#rrggbb`, as CSS.
    pub(crate) brand_color: String,
    /// The text on the brand colour (header, button): black or white, whichever keeps AA.
    pub(crate) brand_text: String,
    /// Links on the white card: the brand colour when it keeps AA there, else the default.
    pub(crate) link_color: String,
    /// From the site's locale (`en_US` → `en-US`).
    pub(crate) lang: String,
    pub(crate) shop_link: Option<String>,
}

/// Before a site is known (no or an unknown key): a plain header, not Shopkeeper's name,
/// which means nothing to a shopper.
const DEFAULT_TITLE: &str = "Sign in";
/// The default brand colour (7.2:1 with white).
const DEFAULT_COLOR: Rgb = Rgb {
    r: 0x1f,
    g: 0x4f,
    b: 0xbf,
};
/// The language the pages' own text is written in.
const DEFAULT_LANG: &str = "en";

impl Look {
    pub(crate) fn new(title: String, brand: Rgb, lang: String, shop_link: Option<String>) -> Self {
        let link = if contrast_ratio(brand, Rgb::WHITE) >= AA_TEXT_CONTRAST {
            brand
        } else {
            DEFAULT_COLOR
        };
        Self {
            title,
            brand_color: brand.to_string(),
            brand_text: text_color_on(brand).to_string(),
            link_color: link.to_string(),
            lang,
            shop_link,
        }
    }

    pub(crate) fn neutral() -> Self {
        Self::new(
            DEFAULT_TITLE.to_owned(),
            DEFAULT_COLOR,
            DEFAULT_LANG.to_owned(),
            None,
        )
    }

    /// The site's title, colour (the default when unset or not `#rrggbb`) and language.
    pub(crate) fn of_site(branding: Option<&SiteBranding>, shop_link: Option<String>) -> Self {
        let Some(b) = branding else {
            return Self::neutral();
        };
        Self::new(
            b.display_name.clone().unwrap_or_else(|| b.id.to_string()),
            Rgb::parse(&b.brand_color).unwrap_or(DEFAULT_COLOR),
            html_lang(&b.locale).unwrap_or_else(|| DEFAULT_LANG.to_owned()),
            shop_link,
        )
    }
}
