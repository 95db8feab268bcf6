//! Who is asking. Readers are anonymous; the desk holds bearer tokens, of
//! which only a SHA-256 hash is ever stored: tokens are 256-bit random values,
//! so a fast hash is enough (there is nothing to brute-force), and the hash
//! doubles as the lookup key.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::ids::TokenId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    Editor,
    Admin,
}

impl Role {
    pub fn parse(raw: &str) -> Result<Self> {
        match raw.to_ascii_lowercase().as_str() {
            "editor" => Ok(Role::Editor),
            "admin" => Ok(Role::Admin),
            _ => Err(Error::invalid("role", "must be `editor` or `admin`")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.as_str().to_ascii_uppercase())
    }
}

/// A token holder: the desk user behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub token_id: TokenId,
    pub name: String,
    pub role: Role,
}

/// The caller of a request: anonymous reader or token holder. Decides what
/// content is visible and which writes are allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller(Option<Principal>);

impl Caller {
    pub fn anonymous() -> Self {
        Caller(None)
    }

    pub fn desk(principal: Principal) -> Self {
        Caller(Some(principal))
    }

    pub fn principal(&self) -> Option<&Principal> {
        self.0.as_ref()
    }

    /// Desk users see drafts, scheduled and archived items; readers do not.
    pub fn visibility(&self) -> Visibility {
        if self.0.is_some() {
            Visibility::Desk
        } else {
            Visibility::Public
        }
    }

    pub fn require(&self, role: Role) -> Result<&Principal> {
        let principal = self.0.as_ref().ok_or(Error::Unauthenticated)?;
        if principal.role >= role {
            Ok(principal)
        } else {
            Err(Error::Forbidden(role))
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Published content only.
    Public,
    /// Everything, for the desk.
    Desk,
}

/// A freshly issued token: the secret is shown once and never stored.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub id: TokenId,
    pub name: String,
    pub role: Role,
    pub secret: String,
}

/// What the store keeps of a token.
#[derive(Debug, Clone)]
pub struct StoredToken {
    pub id: TokenId,
    pub name: String,
    pub role: Role,
    pub hash: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// After this the token no longer authenticates; `None`: until revoked.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

pub const TOKEN_PREFIX: &str = "pm_";

/// Builds a token from 32 bytes of OS randomness supplied by the caller (the
/// domain does no I/O).
pub fn token_secret(random: [u8; 32]) -> String {
    format!("{TOKEN_PREFIX}{}", hex(&random))
}

pub fn hash_token(secret: &str) -> String {
    hex(&Sha256::digest(secret.trim().as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role) -> Caller {
        Caller::desk(Principal {
            token_id: TokenId::new(),
            name: "desk".into(),
            role,
        })
    }

    #[test]
    fn anonymous_callers_are_unauthenticated_for_writes() {
        assert!(matches!(
            Caller::anonymous().require(Role::Editor),
            Err(Error::Unauthenticated)
        ));
    }

    #[test]
    fn editors_cannot_do_what_needs_an_admin() {
        assert!(matches!(
            principal(Role::Editor).require(Role::Admin),
            Err(Error::Forbidden(_))
        ));
        assert!(principal(Role::Admin).require(Role::Editor).is_ok());
    }

    #[test]
    fn only_desk_callers_see_unpublished_content() {
        assert_eq!(Caller::anonymous().visibility(), Visibility::Public);
        assert_eq!(principal(Role::Editor).visibility(), Visibility::Desk);
    }

    #[test]
    fn a_token_hash_is_stable_hex_and_not_the_secret() {
        let secret = token_secret([7; 32]);
        assert!(secret.starts_with("pm_") && secret.len() == 3 + 64);
        let hash = hash_token(&secret);
        assert_eq!(hash, hash_token(&secret));
        assert_eq!(hash.len(), 64);
        assert_ne!(hash, secret);
    }
}
