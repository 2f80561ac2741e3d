//! A fast hash for the evaluator's per-event lookups (field names, values looked up whole,
//! channels): std's SipHash costs more than the lookups it serves there.
//!
//! The tables hashed with it are keyed by what rules hold, or bounded in size (a cache of the
//! field names events use), so keys an events file chooses cannot pile up in one table.

use std::hash::{BuildHasherDefault, Hasher};

/// A multiply-and-rotate hash over 8-byte words (the scheme of Firefox's and rustc's FxHash).
#[derive(Debug, Default, Clone, Copy)]
pub struct FastHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FastHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            // The length tells `ab` from `ab\0`.
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_i64(&mut self, n: i64) {
        self.add(n as u64);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

/// Builds [`FastHasher`]s, for `HashMap<K, V, FastHash>`.
pub type FastHash = BuildHasherDefault<FastHasher>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::hash::BuildHasher;

    #[test]
    fn equal_keys_hash_equal_and_near_keys_apart() {
        let build = FastHash::default();
        assert_eq!(build.hash_one("image"), build.hash_one("image"));
        assert_ne!(build.hash_one("image"), build.hash_one("imagf"));
        assert_ne!(build.hash_one("ab"), build.hash_one("ab\0"));
        let mut map: HashMap<&str, usize, FastHash> = HashMap::default();
        for (i, key) in ["a", "b", "commandline", "parentcommandline"]
            .iter()
            .enumerate()
        {
            map.insert(key, i);
        }
        assert_eq!(map.get("commandline"), Some(&2));
        assert_eq!(map.get("x"), None);
    }
}
