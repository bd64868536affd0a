use std::fmt;

/// A site id as the Global Commerce API uses it in paths (`/store/{siteId}/...`): short,
/// URL-safe, case-sensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct SiteId(String);

impl SiteId {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if !Self::valid(raw) {
            return Err(format!(
                "site id must be 1-64 characters of letters, digits, '_', '-' or '.', got {raw:?}"
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    fn valid(raw: &str) -> bool {
        let ok_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.';
        !raw.is_empty() && raw.len() <= 64 && raw.chars().all(ok_char)
    }
}

text_id!(SiteId, "a site id");

/// The site's user-session TTL: how long an access token lives (`expires_in`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTtl(i64);

impl SessionTtl {
    /// The Token page's "60 minutes by default in user session site settings".
    pub const DEFAULT: SessionTtl = SessionTtl(3600);
    /// Longest TTL a site may set: longer-lived bearer tokens are what refresh tokens are for.
    pub const MAX_SECONDS: i64 = 7 * 24 * 3600;

    pub fn from_seconds(seconds: i64) -> Result<Self, String> {
        if !(1..=Self::MAX_SECONDS).contains(&seconds) {
            return Err(format!(
                "session TTL must be between 1 and {} seconds, got {seconds}",
                Self::MAX_SECONDS
            ));
        }
        Ok(Self(seconds))
    }

    pub fn seconds(self) -> i64 {
        self.0
    }
}

/// An sRGB colour, as a site's brand colour is given: `#rrggbb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb {
    pub r: u8,
    pub g: u8,
    pub b: u8,
}

impl Rgb {
    pub const BLACK: Rgb = Rgb { r: 0, g: 0, b: 0 };
    pub const WHITE: Rgb = Rgb {
        r: 255,
        g: 255,
        b: 255,
    };

    /// `#rrggbb` (hex digits in either case); nothing else, since the colour is written into
    /// a style sheet.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let invalid = || format!("a colour must be #rrggbb, got {raw:?}");
        let hex = raw.strip_prefix('#').ok_or_else(invalid)?;
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid());
        }
        let channel = |at: usize| u8::from_str_radix(&hex[at..at + 2], 16).map_err(|_| invalid());
        Ok(Self {
            r: channel(0)?,
            g: channel(2)?,
            b: channel(4)?,
        })
    }

    /// WCAG 2.x relative luminance: 0 for black, 1 for white.
    pub fn relative_luminance(self) -> f64 {
        // The sRGB transfer function undone per channel (WCAG 2.x's definition, with its
        // 0.03928 threshold).
        let linear = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * linear(self.r) + 0.7152 * linear(self.g) + 0.0722 * linear(self.b)
    }
}

impl fmt::Display for Rgb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:02x}{:02x}{:02x}", self.r, self.g, self.b)
    }
}

/// WCAG 2.x level AA's least contrast for normal-size text (success criterion 1.4.3).
pub const AA_TEXT_CONTRAST: f64 = 4.5;

/// The WCAG 2.x contrast ratio of two colours, from 1 (the same) to 21 (black and white);
/// symmetric, so either may be the text.
pub fn contrast_ratio(a: Rgb, b: Rgb) -> f64 {
    let (la, lb) = (a.relative_luminance(), b.relative_luminance());
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// The text colour for a background: white while it keeps AA contrast (the look sites
/// choose a brand colour for), else black, which then always does (a background too light
/// for white text is at least 4.67:1 against black).
pub fn text_color_on(background: Rgb) -> Rgb {
    if contrast_ratio(Rgb::WHITE, background) >= AA_TEXT_CONTRAST {
        Rgb::WHITE
    } else {
        Rgb::BLACK
    }
}

/// The `lang` of a site's pages from its locale: `en_US` → `en-US` (a BCP 47 tag). A
/// language of 2-3 letters, then subtags of 1-8 letters or digits, separated by `_` or `-`;
/// anything else is None (the page then says `en`, the language its text is written in).
pub fn html_lang(locale: &str) -> Option<String> {
    let mut subtags = locale.split(['_', '-']);
    let language = subtags.next()?;
    let language_ok =
        (2..=3).contains(&language.len()) && language.bytes().all(|b| b.is_ascii_alphabetic());
    let mut tag = language.to_ascii_lowercase();
    for subtag in subtags {
        if !(1..=8).contains(&subtag.len()) || !subtag.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        tag.push('-');
        tag.push_str(subtag);
    }
    language_ok.then_some(tag)
}

/// Where a hosted page may send a shopper back to the shop: the origin
/// (`https://shop.example.com`) of the first of a key's registered redirect URIs that is an
/// `http(s)` URL without user information. Only registered URIs are ever passed here, never
/// one from a request: a link built from a request's `redirect_uri` would let anyone put a
/// link of theirs on the site's page.
pub fn shop_link(registered_redirect_uris: &[String]) -> Option<String> {
    registered_redirect_uris.iter().find_map(|uri| {
        let url = url::Url::parse(uri).ok()?;
        let origin = url.origin();
        let web = matches!(url.scheme(), "http" | "https") && origin.is_tuple();
        (web && url.username().is_empty() && url.password().is_none())
            .then(|| origin.ascii_serialization())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_ids_reject_path_characters() {
        assert!(SiteId::parse("demo").is_ok());
        assert!(SiteId::parse("my-site_1.eu").is_ok());
        assert!(SiteId::parse("").is_err());
        assert!(SiteId::parse("a/b").is_err());
        assert!(SiteId::parse(&"x".repeat(65)).is_err());
    }

    #[test]
    fn a_stored_site_id_is_checked_as_it_is_read() {
        assert_eq!(
            SiteId::try_from("demo".to_owned()).unwrap().as_str(),
            "demo"
        );
        assert!(SiteId::try_from("a/b".to_owned()).is_err());
        assert!(SiteId::try_from(String::new()).is_err());
    }

    #[test]
    fn session_ttl_bounds() {
        assert!(SessionTtl::from_seconds(0).is_err());
        assert!(SessionTtl::from_seconds(86397).is_ok());
        assert!(SessionTtl::from_seconds(SessionTtl::MAX_SECONDS + 1).is_err());
    }

    #[test]
    fn rgb_parses_only_hex_triplets() {
        assert_eq!(
            Rgb::parse("#aa3300"),
            Ok(Rgb {
                r: 0xaa,
                g: 0x33,
                b: 0
            })
        );
        assert_eq!(Rgb::parse("#AA3300"), Rgb::parse("#aa3300"));
        assert_eq!(Rgb::parse("#aa3300").unwrap().to_string(), "#aa3300");
        for bad in [
            "aa3300",
            "#a30",
            "#aa33000",
            "#gg3300",
            "red",
            "#aa3300;}",
            "",
            "#+a3300",
        ] {
            assert!(Rgb::parse(bad).is_err(), "{bad:?}");
        }
    }

    /// Values from the WCAG 2.x definition and the usual checkers (WebAIM).
    #[test]
    fn contrast_ratios_match_known_wcag_values() {
        let rgb = |s| Rgb::parse(s).unwrap();
        let close = |actual: f64, expected: f64| (actual - expected).abs() < 0.005;
        assert_eq!(contrast_ratio(Rgb::BLACK, Rgb::WHITE), 21.0);
        assert_eq!(contrast_ratio(Rgb::WHITE, Rgb::BLACK), 21.0);
        assert_eq!(contrast_ratio(rgb("#aa3300"), rgb("#aa3300")), 1.0);
        let grey = contrast_ratio(rgb("#777777"), Rgb::WHITE);
        assert!(close(grey, 4.48), "#777 on white: {grey}");
        assert!(grey < AA_TEXT_CONTRAST, "#777 on white fails AA");
        let darker = contrast_ratio(rgb("#767676"), Rgb::WHITE);
        assert!(close(darker, 4.54), "#767676 on white: {darker}");
        assert!(
            darker >= AA_TEXT_CONTRAST,
            "#767676 is the lightest AA grey"
        );
        let red = contrast_ratio(rgb("#ff0000"), Rgb::WHITE);
        assert!(close(red, 4.0), "#f00 on white: {red}");
        let blue = contrast_ratio(rgb("#0000ff"), Rgb::WHITE);
        assert!(close(blue, 8.59), "#00f on white: {blue}");
    }

    /// White text where it keeps AA, black otherwise, and whichever is chosen keeps AA for
    /// every background (checked over a grid of the colour cube and all greys).
    #[test]
    fn text_on_any_background_keeps_aa() {
        assert_eq!(text_color_on(Rgb::parse("#1f4fbf").unwrap()), Rgb::WHITE);
        assert_eq!(text_color_on(Rgb::parse("#aa3300").unwrap()), Rgb::WHITE);
        assert_eq!(text_color_on(Rgb::parse("#ffcc00").unwrap()), Rgb::BLACK);
        assert_eq!(text_color_on(Rgb::parse("#777777").unwrap()), Rgb::BLACK);
        let steps = (0..=255).step_by(15);
        let grid = steps.clone().flat_map(|r| {
            let steps = steps.clone();
            steps
                .clone()
                .flat_map(move |g| steps.clone().map(move |b| Rgb { r, g, b }))
        });
        let greys = (0..=255).map(|v| Rgb { r: v, g: v, b: v });
        for background in grid.chain(greys) {
            let ratio = contrast_ratio(text_color_on(background), background);
            assert!(ratio >= AA_TEXT_CONTRAST, "{background}: {ratio}");
        }
    }

    #[test]
    fn html_lang_comes_from_the_locale() {
        assert_eq!(html_lang("en_US").as_deref(), Some("en-US"));
        assert_eq!(html_lang("de_DE").as_deref(), Some("de-DE"));
        assert_eq!(html_lang("fr").as_deref(), Some("fr"));
        assert_eq!(html_lang("zh-Hant-TW").as_deref(), Some("zh-Hant-TW"));
        assert_eq!(html_lang("EN_us").as_deref(), Some("en-us"));
        for bad in [
            "", "e", "english", "en_", "en__US", "en_US\"", "en US", "1n_US", "\u{e9}n",
        ] {
            assert_eq!(html_lang(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_shop_link_is_the_origin_of_a_registered_web_redirect() {
        let uris = |list: &[&str]| list.iter().map(|u| u.to_string()).collect::<Vec<_>>();
        assert_eq!(
            shop_link(&uris(&["https://Shop.Example.com/oauth/callback?x=1"])).as_deref(),
            Some("https://shop.example.com")
        );
        assert_eq!(
            shop_link(&uris(&["http://localhost:3000/callback"])).as_deref(),
            Some("http://localhost:3000")
        );
        // App schemes and URLs with user information are skipped for the next one.
        assert_eq!(
            shop_link(&uris(&[
                "com.example.app://callback",
                "https://user@evil.example/cb",
                "https://shop.example.com:8443/cb",
            ]))
            .as_deref(),
            Some("https://shop.example.com:8443")
        );
        assert_eq!(shop_link(&uris(&["myapp://cb"])), None);
        assert_eq!(shop_link(&[]), None);
    }
}
