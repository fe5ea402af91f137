//! Run ids: 22 random base62 characters (≈131 bits) — unguessable, URL-safe, no sequence to walk.

use rand::Rng;

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A fresh unguessable id.
pub fn new_run_id() -> String {
    let mut rng = rand::rng();
    (0..22).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// True when `s` could be an id made by [`new_run_id`] (cheap check before touching the store).
pub fn looks_like_id(s: &str) -> bool {
    (10..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_long_distinct_and_url_safe() {
        let a = new_run_id();
        let b = new_run_id();
        assert_eq!(a.len(), 22);
        assert_ne!(a, b);
        assert!(looks_like_id(&a));
        assert!(!looks_like_id("12"));
        assert!(!looks_like_id("../etc/passwd"));
    }
}
