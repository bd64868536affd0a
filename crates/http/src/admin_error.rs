//! The Admin API's error shape (`error-format-for-admin-apis/sync-error-objects.md`):
//! `{"errors": [{"code", "subcode", "description", "message"}]}`. Codes are the documented
//! ones (`invalid-request`, `resource-not-found`, `validation-error`, ...); the subcode says
//! which rule; the message is written for a person. Nothing here echoes a presented secret.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shopkeeper_store::StoreError;

#[derive(Debug, Clone)]
pub struct AdminError {
    pub status: StatusCode,
    pub code: &'static str,
    pub subcode: Option<String>,
    pub message: String,
    /// A refusal of credentials carries its challenge.
    pub www_authenticate: Option<&'static str>,
    /// A throttled sign-in says when to try again.
    pub retry_after: Option<u64>,
}

/// One entry of `errors`, as the docs write it.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct AdminErrorObject {
    pub code: String,
    pub subcode: Option<String>,
    pub description: Option<String>,
    pub message: String,
}

/// The body of every Admin API error answer.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct AdminErrors {
    pub errors: Vec<AdminErrorObject>,
}

impl AdminError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        subcode: impl Into<Option<&'static str>>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code,
            subcode: subcode.into().map(str::to_owned),
            message: message.into(),
            www_authenticate: None,
            retry_after: None,
        }
    }

    /// 404 `resource-not-found`.
    pub fn not_found(subcode: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "resource-not-found",
            subcode,
            message,
        )
    }

    /// 400 `invalid-request`.
    pub fn invalid(subcode: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid-request", subcode, message)
    }

    /// 401 `unauthorized`: no usable credential (with a `Basic` challenge: the key is always
    /// needed).
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self {
            www_authenticate: Some("Basic realm=\"admin\""),
            ..Self::new(StatusCode::UNAUTHORIZED, "unauthorized", None, message)
        }
    }

    /// 403 `forbidden`: a valid credential without the permission or role the route needs.
    pub fn forbidden(subcode: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", subcode, message)
    }

    /// 500 `internal_server_error`, the documented code; the cause goes to the log only.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_server_error",
            None,
            "An internal server error has occurred.",
        )
    }

    pub fn body(&self) -> AdminErrors {
        AdminErrors {
            errors: vec![AdminErrorObject {
                code: self.code.to_owned(),
                subcode: self.subcode.clone(),
                description: None,
                message: self.message.clone(),
            }],
        }
    }
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => {
                AdminError::not_found("not-found", format!("Cannot find {what}."))
            }
            StoreError::Conflict(what) => AdminError::new(
                StatusCode::CONFLICT,
                "concurrent_process_conflict",
                None,
                what,
            ),
            StoreError::Unavailable(cause) => {
                tracing::error!(error = %cause, "admin request: database unavailable");
                AdminError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "service_unavailable",
                    None,
                    "The service is unavailable; try again shortly.",
                )
            }
            other => {
                tracing::error!(error = %other, "admin request failed in the store");
                AdminError::internal()
            }
        }
    }
}

impl From<anyhow::Error> for AdminError {
    fn from(e: anyhow::Error) -> Self {
        match e.downcast::<StoreError>() {
            Ok(store) => store.into(),
            Err(other) => {
                tracing::error!(error = %other, "admin request failed");
                AdminError::internal()
            }
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        let headers = response.headers_mut();
        if let Some(challenge) = self.www_authenticate {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}
