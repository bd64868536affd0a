//! The grant rules of `POST /oauth20/token`, as pure functions of the request's parameters.

use super::SessionToken;
use super::time::UnixSeconds;

#[derive(Debug, PartialEq, Eq)]
pub enum Grant {
    /// `password` without credentials (or `anonymous`/`anonymous`): a guest.
    AnonymousPassword,
    /// `password` with a shopper's username and password.
    Password {
        username: String,
        password: String,
    },
    /// `client_credentials`, optionally for a client-maintained shopper.
    ClientCredentials {
        external_reference_id: Option<String>,
    },
    RefreshToken {
        refresh_token: String,
    },
    /// `authorization_code`: redeems a code from the hosted sign-in page.
    AuthorizationCode {
        code: String,
        redirect_uri: String,
        code_verifier: Option<String>,
    },
}

/// How the new token relates to an existing session.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SessionLink {
    /// `dr_session_token` / `sessionToken`: join the session of the `SessionToken` action.
    pub session_token: Option<SessionToken>,
    /// `dr_limited_token`: the limited token whose session a signing-in shopper takes over.
    pub limited_token: Option<String>,
}

#[derive(Debug)]
pub struct GrantRequest {
    pub grant: Grant,
    pub link: SessionLink,
}

#[derive(Debug, PartialEq, Eq)]
pub enum GrantError {
    InvalidRequest(String),
    UnsupportedGrantType(String),
    InvalidGrant(&'static str),
    DrLimitedTokenInvalid,
}

/// Longest username, password or reference id accepted (a bound on work and storage).
const MAX_CREDENTIAL_LEN: usize = 1024;

/// Reads the grant from the request's (already merged) parameters.
pub fn parse_grant<'a>(
    param: impl Fn(&str) -> Option<&'a str>,
) -> Result<GrantRequest, GrantError> {
    let missing = |name: &str| GrantError::InvalidRequest(format!("missing parameter {name}"));
    let grant_type = param("grant_type").ok_or_else(|| missing("grant_type"))?;
    let grant = match grant_type {
        "password" => match (param("username"), param("password")) {
            (None, None) => Grant::AnonymousPassword,
            (Some("anonymous"), Some("anonymous")) => Grant::AnonymousPassword,
            (Some(u), Some(p)) if !u.is_empty() => {
                if u.len() > MAX_CREDENTIAL_LEN || p.len() > MAX_CREDENTIAL_LEN {
                    return Err(GrantError::InvalidRequest("credentials too long".into()));
                }
                Grant::Password {
                    username: u.to_owned(),
                    password: p.to_owned(),
                }
            }
            (Some(_), None) => return Err(missing("password")),
            (None, Some(_)) | (Some(_), Some(_)) => return Err(missing("username")),
        },
        "client_credentials" => Grant::ClientCredentials {
            external_reference_id: match param("dr_external_reference_id") {
                None => None,
                Some(id) if id.is_empty() || id.len() > MAX_CREDENTIAL_LEN => {
                    return Err(GrantError::InvalidRequest(
                        "dr_external_reference_id is empty or too long".into(),
                    ));
                }
                Some(id) => Some(id.to_owned()),
            },
        },
        "refresh_token" => Grant::RefreshToken {
            refresh_token: param("refresh_token")
                .filter(|t| !t.is_empty())
                .ok_or_else(|| missing("refresh_token"))?
                .to_owned(),
        },
        "authorization_code" => Grant::AuthorizationCode {
            code: param("code")
                .filter(|c| !c.is_empty())
                .ok_or_else(|| missing("code"))?
                .to_owned(),
            redirect_uri: param("redirect_uri")
                .filter(|c| !c.is_empty())
                .ok_or_else(|| missing("redirect_uri"))?
                .to_owned(),
            code_verifier: param("code_verifier").map(str::to_owned),
        },
        "" => return Err(missing("grant_type")),
        other => {
            return Err(GrantError::UnsupportedGrantType(format!(
                "grant_type {} is not supported",
                truncate(other)
            )));
        }
    };
    let session_token = match (param("dr_session_token"), param("sessionToken")) {
        (Some(a), Some(b)) if !a.eq_ignore_ascii_case(b) => {
            return Err(GrantError::InvalidRequest(
                "dr_session_token and sessionToken disagree".into(),
            ));
        }
        (Some(t), _) | (None, Some(t)) => {
            Some(SessionToken::parse(t).ok_or(GrantError::InvalidGrant("invalid session token"))?)
        }
        (None, None) => None,
    };
    let limited_token = match param("dr_limited_token") {
        Some("") => return Err(GrantError::DrLimitedTokenInvalid),
        other => other.map(str::to_owned),
    };
    if matches!(grant, Grant::RefreshToken { .. })
        && (session_token.is_some() || limited_token.is_some())
    {
        return Err(GrantError::InvalidRequest(
            "a refresh keeps its own session; dr_session_token/dr_limited_token do not apply"
                .into(),
        ));
    }
    if matches!(grant, Grant::AuthorizationCode { .. })
        && (session_token.is_some() || limited_token.is_some())
    {
        return Err(GrantError::InvalidRequest(
            "a code names its session; dr_session_token/dr_limited_token do not apply".into(),
        ));
    }
    Ok(GrantRequest {
        grant,
        link: SessionLink {
            session_token,
            limited_token,
        },
    })
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

/// What a replay of an already-consumed refresh token gets.
#[derive(Debug, PartialEq, Eq)]
pub enum ReplayVerdict {
    /// Within the grace window (concurrent tabs): the same successor pair again.
    SamePair,
    /// After it: treat as theft and revoke the session.
    RevokeSession,
}

pub fn refresh_replay(
    consumed_at: UnixSeconds,
    now: UnixSeconds,
    grace_seconds: i64,
) -> ReplayVerdict {
    if now - consumed_at <= grace_seconds {
        ReplayVerdict::SamePair
    } else {
        ReplayVerdict::RevokeSession
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(pairs: &[(&str, &str)]) -> Result<GrantRequest, GrantError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse_grant(|k| map.get(k).map(String::as_str))
    }

    #[test]
    fn password_without_credentials_is_anonymous() {
        assert_eq!(
            parse(&[("grant_type", "password")]).unwrap().grant,
            Grant::AnonymousPassword
        );
        assert_eq!(
            parse(&[
                ("grant_type", "password"),
                ("username", "anonymous"),
                ("password", "anonymous")
            ])
            .unwrap()
            .grant,
            Grant::AnonymousPassword
        );
    }

    #[test]
    fn half_credentials_are_invalid_requests() {
        assert!(matches!(
            parse(&[("grant_type", "password"), ("username", "u")]),
            Err(GrantError::InvalidRequest(_))
        ));
        assert!(matches!(
            parse(&[("grant_type", "password"), ("password", "p")]),
            Err(GrantError::InvalidRequest(_))
        ));
    }

    #[test]
    fn unknown_and_missing_grant_types() {
        assert!(matches!(
            parse(&[("grant_type", "implicit")]),
            Err(GrantError::UnsupportedGrantType(_))
        ));
        assert!(matches!(parse(&[]), Err(GrantError::InvalidRequest(_))));
    }

    #[test]
    fn both_session_token_names_must_agree() {
        let t = "0123456789ABCDEF0123456789ABCDEF";
        assert!(
            parse(&[
                ("grant_type", "password"),
                ("dr_session_token", t),
                ("sessionToken", &t.to_lowercase())
            ])
            .is_ok()
        );
        assert!(matches!(
            parse(&[
                ("grant_type", "password"),
                ("dr_session_token", t),
                ("sessionToken", "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF")
            ]),
            Err(GrantError::InvalidRequest(_))
        ));
    }

    #[test]
    fn grace_window() {
        assert_eq!(refresh_replay(100, 110, 10), ReplayVerdict::SamePair);
        assert_eq!(refresh_replay(100, 111, 10), ReplayVerdict::RevokeSession);
    }
}
