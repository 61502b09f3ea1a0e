#!/usr/bin/env python3
"""Independent reference implementation of FORMAT.md (git-secret formats, v1).

This script exists only to cross-check the Rust implementation: it was written
from FORMAT.md, not ported from src/, and git-secret never runs it. It derives
subkeys and key ids, encodes and decodes encrypted blobs (with every rejection
of FORMAT.md section 3.2), reads and writes key files (section 4), and
writes and checks the authenticated recipient list (section 6).

    python3 scripts/reference.py generate tests/vectors   # (re)write the vectors
    python3 scripts/reference.py check tests/vectors      # re-verify them

Requires Python 3.8+ and the `cryptography` package (AES-GCM-SIV needs
OpenSSL 3.2 or newer underneath). `cargo test` checks the same vectors
against the Rust code (tests/it/vectors.rs).

Vector files (all plain text, parsed by tests/it/vectors.rs with std only):

* `blobs.txt`: records `[kind name]` followed by `field = value` lines; `#`
  starts a comment line. Kinds: `key`, `encrypt`, `decrypt`. Field meanings
  are described in the comment at the top of the generated file.
* `keyfiles.txt`: one `[keyfile FILE]` record per key file in `keyfiles/`,
  with the expected keys or the expected failure.
* `recipients.txt`: keys, one spelled-out MAC input, and one `[recipients
  FILE]` record per recipient list in `recipients/`, with the verdicts a
  reader holding the given keys reaches.
"""

import base64
import hashlib
import hmac
import os
import re
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV

# --------------------------------------------------------------------------
# Section 1/2: primitives, subkeys and key id
# --------------------------------------------------------------------------

SALT = b"git-secret v1"
INFO_ENC = b"git-secret v1 encryption"
INFO_NONCE = b"git-secret v1 nonce"
INFO_VOUCH = b"git-secret v1 vouch"
INFO_ID = b"git-secret v1 key id"
INFO_FILE_KEY = b"git-secret v1 file key"

MAGIC = b"\0GITSECRET"
VERSION = 1
HEADER_LEN = len(MAGIC) + 1 + 16 + 32  # 59
CHUNK = 65536
TAG = 16
SEALED = CHUNK + TAG


def hkdf_extract(salt, ikm):
    """RFC 5869 section 2.2."""
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def hkdf_expand(prk, info, length):
    """RFC 5869 section 2.3."""
    assert length <= 255 * 32
    out, t, counter = b"", b"", 1
    while len(out) < length:
        t = hmac.new(prk, t + info + bytes([counter]), hashlib.sha256).digest()
        out += t
        counter += 1
    return out[:length]


def hkdf(salt, ikm, info, length):
    return hkdf_expand(hkdf_extract(salt, ikm), info, length)


class Subkeys:
    def __init__(self, key):
        if len(key) != 32:
            raise ValueError("a repository key is 32 bytes")
        self.key = bytes(key)
        self.enc_key = hkdf(SALT, key, INFO_ENC, 32)
        self.nonce_key = hkdf(SALT, key, INFO_NONCE, 32)
        self.key_id = hkdf(SALT, key, INFO_ID, 16)
        self.vouch_key = hkdf(SALT, key, INFO_VOUCH, 32)

    def vouch_for(self, name, generation, child_id):
        """FORMAT.md section 4.2: this key's vouch for (name, generation, child id)."""
        msg = INFO_VOUCH + b"\0" + bytes([len(name)]) + name.encode() + generation.to_bytes(8, "big") + child_id
        return hmac.new(self.vouch_key, msg, hashlib.sha256).digest()[:16]

    @property
    def id_hex(self):
        return self.key_id.hex()

    def file_key(self, n):
        return hkdf_expand(self.enc_key, INFO_FILE_KEY + n, 32)


def _selftest_primitives():
    # RFC 5869 test case 1 (HKDF-SHA256).
    ikm = bytes([0x0B] * 22)
    salt = bytes(range(13))
    info = bytes(range(0xF0, 0xFA))
    okm = hkdf(salt, ikm, info, 42)
    assert okm.hex() == (
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
        "34007208d5b887185865"
    ), "HKDF self-test failed"
    # Cross-check the hand-written HKDF with the cryptography package.
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    key = bytes(range(32))
    theirs = HKDF(algorithm=hashes.SHA256(), length=16, salt=SALT, info=INFO_ID).derive(key)
    assert theirs == Subkeys(key).key_id, "HKDF disagrees with cryptography's HKDF"
    # RFC 8452 appendix C.2, AEAD_AES_256_GCM_SIV, 8-byte plaintext.
    k = bytes([1] + [0] * 31)
    nonce = bytes([3] + [0] * 11)
    ct = AESGCMSIV(k).encrypt(nonce, bytes([1] + [0] * 7), b"")
    assert ct.hex() == "c2ef328e5c71c83b843122130f7364b761e0b97427e3df28", "AES-GCM-SIV self-test failed"


# --------------------------------------------------------------------------
# Section 3: encrypted blob
# --------------------------------------------------------------------------


class BlobError(Exception):
    """A rejected blob. `kind` and `arg` use the vocabulary of blobs.txt."""

    def __init__(self, kind, arg=None, why=""):
        super().__init__(f"{kind} {arg if arg is not None else ''} {why}".strip())
        self.kind, self.arg = kind, arg

    def code(self):
        return self.kind if self.arg is None else f"{self.kind} {self.arg}"


def chunk_nonce(index, last):
    return b"\0\0\0" + index.to_bytes(8, "big") + (b"\x01" if last else b"\x00")


def seal(file_key, index, last, aad, chunk):
    return AESGCMSIV(file_key).encrypt(chunk_nonce(index, last), chunk, aad)


def make_header(key_id, n):
    return MAGIC + bytes([VERSION]) + key_id + n


def encrypt(sub, plaintext):
    n = hmac.new(sub.nonce_key, plaintext, hashlib.sha256).digest()
    header = make_header(sub.key_id, n)
    file_key = sub.file_key(n)
    chunks = [plaintext[i : i + CHUNK] for i in range(0, len(plaintext), CHUNK)] or [b""]
    out = [header]
    for i, c in enumerate(chunks):
        out.append(seal(file_key, i, i == len(chunks) - 1, header, c))
    blob = b"".join(out)
    assert len(blob) == HEADER_LEN + len(plaintext) + TAG * len(chunks)
    return blob


def decrypt(blob, keyring):
    """Returns the plaintext, None if `blob` is not a git-secret blob, or raises BlobError.

    `keyring` is a list of Subkeys the decoder holds.
    """
    if not blob.startswith(MAGIC):
        return None
    if len(blob) == len(MAGIC):
        raise BlobError("truncated_header")
    version = blob[len(MAGIC)]
    if version != VERSION:
        raise BlobError("unsupported_version", version)
    if len(blob) < HEADER_LEN:
        raise BlobError("truncated_header")
    key_id = blob[len(MAGIC) + 1 : len(MAGIC) + 17]
    n = blob[len(MAGIC) + 17 : HEADER_LEN]
    header = blob[:HEADER_LEN]
    sub = next((k for k in keyring if k.key_id == key_id), None)
    if sub is None:
        raise BlobError("unknown_key", key_id.hex())
    if len(blob) == HEADER_LEN:
        raise BlobError("missing_final_chunk")
    aead = AESGCMSIV(sub.file_key(n))
    out, pos, index = [], HEADER_LEN, 0
    while True:
        rest = len(blob) - pos
        last = rest <= SEALED  # last when no byte follows this chunk
        sealed = blob[pos : pos + min(rest, SEALED)]
        if len(sealed) < TAG:
            raise BlobError("authentication", index, "chunk shorter than a tag")
        if last and index > 0 and len(sealed) == TAG:
            raise BlobError("authentication", index, "empty final chunk after the first")
        try:
            out.append(aead.decrypt(chunk_nonce(index, last), sealed, header))
        except Exception:
            raise BlobError("authentication", index, "tag does not verify") from None
        if last:
            return b"".join(out)
        pos += SEALED
        index += 1


# --------------------------------------------------------------------------
# Section 4: key file
# --------------------------------------------------------------------------

BEGIN = "-----BEGIN GIT-SECRET KEY v1-----"
BEGIN_V2 = "-----BEGIN GIT-SECRET KEY v2-----"
VOUCH_FIELDS = ("vouched-by", "vouch")
MAX_GENERATION = 1000000
BEGIN_ANY = "-----BEGIN GIT-SECRET KEY "
END = "-----END GIT-SECRET KEY-----"
FIELDS = ("name", "generation", "id", "key")
NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}\Z")
PRINTABLE = set(range(0x20, 0x7F)) | {0x09, 0x0A, 0x0D}


class KeyFileError(Exception):
    def __init__(self, kind, why):
        super().__init__(f"{kind}: {why}")
        self.kind = kind


class FileKey:
    def __init__(self, name, generation, material):
        if not NAME_RE.match(name):
            raise ValueError(f"invalid name {name!r}")
        self.name, self.generation, self.material = name, generation, bytes(material)
        self.sub = Subkeys(material)
        self.vouch = None  # (voucher id bytes, mac bytes)

    def vouch_with(self, voucher):
        self.vouch = (voucher.sub.key_id, voucher.sub.vouch_for(self.name, self.generation, self.sub.key_id))
        return self


def write_block(key):
    vouch = f"vouched-by: {key.vouch[0].hex()}\nvouch: {key.vouch[1].hex()}\n" if key.vouch else ""
    return (
        f"{BEGIN_V2 if key.vouch else BEGIN}\n"
        f"name: {key.name}\n"
        f"generation: {key.generation}\n"
        f"id: {key.sub.id_hex}\n"
        f"{vouch}"
        f"key: {base64.b64encode(key.material).decode('ascii')}\n"
        f"{END}\n"
    )


def write_key_file(keys, comment=""):
    text = "".join(f"# {line}\n" if line else "#\n" for line in comment.splitlines())
    return text + "".join(write_block(k) for k in keys)


def decode_material(value):
    """Strict standard base64 with padding of exactly 32 bytes (canonical encoding only)."""
    if not re.fullmatch(r"[A-Za-z0-9+/]{43}=", value):
        raise KeyFileError("bad_key_material", "key material is not 44 base64 characters")
    raw = base64.b64decode(value, validate=True)
    if len(raw) != 32 or base64.b64encode(raw).decode("ascii") != value:
        raise KeyFileError("bad_key_material", "key material is not the canonical base64 of 32 bytes")
    return raw


def parse_key_file(data):
    """Returns a list of FileKey or raises KeyFileError."""
    bad = [b for b in data if b not in PRINTABLE]
    if bad:
        raise KeyFileError("not_printable", f"byte 0x{bad[0]:02x} is not printable ASCII")
    text = data.decode("ascii")
    keys, block = [], None
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw.strip(" \t\r")
        if not line or line.startswith("#"):
            continue
        if block is None:
            if line == BEGIN:
                block = {}
                fields = FIELDS
            elif line == BEGIN_V2:
                block = {}
                fields = FIELDS + VOUCH_FIELDS
            elif line.startswith(BEGIN_ANY):
                raise KeyFileError("unsupported_version", f"line {number}: {line}")
            else:
                raise KeyFileError("unexpected_line", f"line {number} is outside a key block")
            continue
        if line == END:
            missing = [f for f in fields if f not in block]
            if missing:
                raise KeyFileError("missing_field", f"line {number}: missing {missing[0]!r}")
            if not NAME_RE.match(block["name"]):
                raise KeyFileError("bad_name", f"invalid name {block['name']!r}")
            if not re.fullmatch(r"[0-9]+", block["generation"]) or int(block["generation"]) < 1:
                raise KeyFileError("bad_generation", "generation is not a positive decimal number")
            if int(block["generation"]) > MAX_GENERATION:
                raise KeyFileError("generation_too_high", f"generation {block['generation']} is above {MAX_GENERATION}")
            if not re.fullmatch(r"[0-9a-f]{32}", block["id"]):
                raise KeyFileError("bad_id", "id is not 32 lowercase hex characters")
            material = decode_material(block["key"])
            key = FileKey(block["name"], int(block["generation"]), material)
            if key.sub.id_hex != block["id"]:
                raise KeyFileError("id_mismatch", f"id {block['id']} does not match the key material")
            if "vouch" in block:
                for f in VOUCH_FIELDS:
                    if not re.fullmatch(r"[0-9a-f]{32}", block[f]):
                        raise KeyFileError("bad_vouch", f"{f} is not 32 lowercase hex characters")
                key.vouch = (bytes.fromhex(block["vouched-by"]), bytes.fromhex(block["vouch"]))
            if all(k.sub.key_id != key.sub.key_id for k in keys):
                keys.append(key)
            block = None
            continue
        if line.startswith(BEGIN_ANY):
            raise KeyFileError("truncated", f"line {number}: BEGIN inside a block without END")
        field, sep, value = line.partition(":")
        field, value = field.strip(" \t"), value.strip(" \t")
        if not sep:
            raise KeyFileError("bad_line", f"line {number}: expected 'field: value'")
        if field not in fields:
            raise KeyFileError("unknown_field", f"line {number}: unknown field {field!r}")
        if field in block:
            raise KeyFileError("duplicate_field", f"line {number}: field {field!r} appears twice")
        block[field] = value
    if block is not None:
        raise KeyFileError("truncated", "the last block has no END line")
    if not keys:
        raise KeyFileError("no_block", "no key block")
    # A vouch by a key in the same file MUST verify; a key MUST NOT vouch for itself.
    for key in keys:
        if key.vouch is None:
            continue
        by, mac = key.vouch
        voucher = next((k for k in keys if k.sub.key_id == by), None)
        if by == key.sub.key_id or (
            voucher is not None
            and not hmac.compare_digest(mac, voucher.sub.vouch_for(key.name, key.generation, key.sub.key_id))
        ):
            raise KeyFileError("bad_vouch", f"the vouch for {key.name} generation {key.generation} does not verify")
    return keys


# --------------------------------------------------------------------------
# Vector generation
# --------------------------------------------------------------------------

GEN_RULE = "byte i = (i * 7 + i // 251) mod 256   (// is integer division)"


def gen_plaintext(length):
    return bytes((i * 7 + i // 251) % 256 for i in range(length))


def parse_plaintext(spec):
    kind, _, value = spec.partition(":")
    if kind == "hex":
        return bytes.fromhex(value)
    if kind == "gen":
        return gen_plaintext(int(value))
    raise ValueError(f"bad plaintext spec {spec!r}")


def mutate(blob, op):
    """Applies one `mutate` line. Ops: truncate LEN | append HEX | flip OFFSET MASK |
    swap A B LEN | set OFFSET HEX | copy_to_end START LEN. Numbers are decimal; MASK is hex."""
    words = op.split()
    name, args = words[0], words[1:]
    b = bytearray(blob)
    if name == "truncate":
        (length,) = args
        assert int(length) <= len(b)
        return bytes(b[: int(length)])
    if name == "append":
        return bytes(b) + bytes.fromhex(args[0])
    if name == "flip":
        offset, mask = int(args[0]), int(args[1], 16)
        b[offset] ^= mask
        return bytes(b)
    if name == "swap":
        x, y, length = map(int, args)
        assert x + length <= y and y + length <= len(b)
        b[x : x + length], b[y : y + length] = b[y : y + length], b[x : x + length]
        return bytes(b)
    if name == "set":
        offset, data = int(args[0]), bytes.fromhex(args[1])
        assert offset + len(data) <= len(b)
        b[offset : offset + len(data)] = data
        return bytes(b)
    if name == "copy_to_end":
        start, length = map(int, args)
        return bytes(b) + bytes(b[start : start + length])
    raise ValueError(f"unknown mutation {op!r}")


BLOBS_HEADER = f"""\
# git-secret blob test vectors (FORMAT.md sections 2 and 3).
# Generated by `python3 scripts/reference.py generate tests/vectors`; checked by
# `python3 scripts/reference.py check tests/vectors` and by `cargo test`
# (tests/it/vectors.rs). Do not edit by hand.
#
# Records start with `[kind name]`, then `field = value` lines. Hex is lowercase.
#
# [key NAME]      material = the 32-byte repository key K
#                 id, enc_key, nonce_key = the subkeys of FORMAT.md section 2
# [encrypt NAME]  key = a key record; plaintext = hex:HEX, or gen:LEN meaning
#                 LEN bytes with {GEN_RULE}
#                 nonce = N; chunks = number of chunks; header = the 59-byte header
#                 blob = the whole blob (small vectors), or
#                 blob_len + blob_sha256 (large vectors)
# [decrypt NAME]  base = an encrypt record whose blob is the starting point
#                 keys = the keys the decoder holds (space separated; - for none)
#                 mutate = an edit applied to the blob, in order (zero or more):
#                   truncate LEN | append HEX | flip OFFSET MASKHEX |
#                   swap A B LEN (swap bytes A..A+LEN and B..B+LEN) |
#                   set OFFSET HEX | copy_to_end START LEN   (decimal offsets)
#                 expect = ok (the base plaintext) | not_blob | truncated_header |
#                   unsupported_version V | unknown_key ID | missing_final_chunk |
#                   authentication CHUNK_INDEX (the first chunk that fails)
"""


def generate(directory):
    keys = {
        "k1": Subkeys(bytes(range(32))),
        "k2": Subkeys(bytes(range(0xFF, 0xDF, -1))),  # ff fe ... e0
    }
    out = [BLOBS_HEADER]
    for name, sub in keys.items():
        out.append(
            f"\n[key {name}]\nmaterial = {sub.key.hex()}\nid = {sub.id_hex}\n"
            f"enc_key = {sub.enc_key.hex()}\nnonce_key = {sub.nonce_key.hex()}\n"
        )

    encrypt_specs = [
        ("k1-empty", "k1", "hex:"),
        ("k1-one", "k1", "hex:00"),
        ("k1-21", "k1", "hex:" + b"DB_PASSWORD=hunter2!\n".hex()),
        ("k1-65535", "k1", "gen:65535"),
        ("k1-65536", "k1", "gen:65536"),
        ("k1-65537", "k1", "gen:65537"),
        ("k1-3x65536+5", "k1", "gen:196613"),
        ("k2-empty", "k2", "hex:"),
        ("k2-21", "k2", "hex:" + b"DB_PASSWORD=hunter2!\n".hex()),
        ("k2-131072", "k2", "gen:131072"),
    ]
    assert len(b"DB_PASSWORD=hunter2!\n") == 21
    blobs, plains = {}, {}
    for name, key, pt_spec in encrypt_specs:
        sub = keys[key]
        pt = parse_plaintext(pt_spec)
        blob = encrypt(sub, pt)
        blobs[name], plains[name] = blob, pt
        rec = [f"\n[encrypt {name}]", f"key = {key}", f"plaintext = {pt_spec}"]
        rec.append(f"nonce = {blob[HEADER_LEN - 32:HEADER_LEN].hex()}")
        rec.append(f"chunks = {max(1, -(-len(pt) // CHUNK))}")
        rec.append(f"header = {blob[:HEADER_LEN].hex()}")
        if len(blob) <= 1024:
            rec.append(f"blob = {blob.hex()}")
        else:
            rec.append(f"blob_len = {len(blob)}")
            rec.append(f"blob_sha256 = {hashlib.sha256(blob).hexdigest()}")
        out.append("\n".join(rec) + "\n")

    k1, k2 = keys["k1"], keys["k2"]
    big = "k1-3x65536+5"  # 4 chunks: 3 full, one of 5 bytes
    big_len = len(blobs[big])
    id_off = len(MAGIC) + 1  # key id offset 11
    n_off = id_off + 16  # nonce offset 27
    big_n = blobs[big][n_off:HEADER_LEN]
    big_fk = k1.file_key(big_n)
    big_header = blobs[big][:HEADER_LEN]
    empty_final_1 = seal(big_fk, 1, True, big_header, b"")
    empty_final_3 = seal(big_fk, 3, True, big_header, b"")
    flipped_id = bytearray(k1.key_id)
    flipped_id[0] ^= 0x01
    # name, base, keys, mutations, comment
    decrypt_specs = [
        ("ok-k1-21", "k1-21", "k1", [], "plain round trip"),
        ("ok-keyring-k2-k1", "k1-3x65536+5", "k2 k1", [], "the decoder picks the key by id"),
        ("ok-k2-131072", "k2-131072", "k1 k2", [], "exactly two full chunks"),
        ("not-blob-text", "k1-21", "k1", ["truncate 0", "append " + b"plain text\n".hex()], "no magic"),
        ("not-blob-magic-prefix", "k1-21", "k1", ["truncate 5"], "a prefix of the magic is not a blob"),
        ("not-blob-flipped-magic", "k1-21", "k1", ["flip 1 01"], "a flipped bit in the magic"),
        ("magic-only", "k1-21", "k1", [f"truncate {len(MAGIC)}"], "header truncated right after the magic"),
        ("truncated-header", "k1-21", "k1", [f"truncate {HEADER_LEN - 1}"], "58 bytes"),
        ("truncated-header-mid-id", "k1-21", "k1", ["truncate 20"], "cut inside the key id"),
        ("unknown-version-2", "k1-21", "k1", [f"set {len(MAGIC)} 02"], "version byte 0x02"),
        ("unknown-version-0", "k1-65537", "k1", [f"set {len(MAGIC)} 00"], "version byte 0x00"),
        ("unknown-key", "k1-21", "k2", [], "the decoder only holds k2"),
        ("unknown-key-no-keys", "k1-empty", "-", [], "the decoder holds no key"),
        ("header-only", "k1-21", "k1", [f"truncate {HEADER_LEN}"], "no chunk after the header"),
        ("header-only-empty-plaintext", "k1-empty", "k1", [f"truncate {HEADER_LEN}"], "the empty plaintext still has one chunk"),
        ("chunk-shorter-than-tag", "k1-21", "k1", [f"truncate {HEADER_LEN + 15}"], "15 bytes after the header"),
        ("last-chunk-shorter-than-tag", big, "k1", [f"truncate {HEADER_LEN + 3 * SEALED + 15}"], "4th chunk cut to 15 bytes"),
        ("last-chunk-cut", big, "k1", [f"truncate {big_len - 1}"], "last byte of the last tag removed"),
        ("drop-last-chunk", big, "k1", [f"truncate {HEADER_LEN + 3 * SEALED}"], "chunk 2 was sealed as non-final"),
        ("drop-last-two-chunks", big, "k1", [f"truncate {HEADER_LEN + 2 * SEALED}"], "chunk 1 was sealed as non-final"),
        ("drop-last-chunk-of-two", "k2-131072", "k2", [f"truncate {HEADER_LEN + SEALED}"], "chunk 0 was sealed as non-final"),
        ("extra-byte-small", "k1-21", "k1", ["append 00"], "one byte appended to a one-chunk blob"),
        ("extra-byte-full-chunk", "k1-65536", "k1", ["append 00"], "one byte after a full final chunk"),
        ("extra-byte-large", big, "k1", ["append 00"], "one byte appended to a four-chunk blob"),
        ("extra-chunk-copied", "k2-131072", "k2", [f"copy_to_end {HEADER_LEN + SEALED} {SEALED}"], "last chunk appended again"),
        ("swap-chunks-0-1", big, "k1", [f"swap {HEADER_LEN} {HEADER_LEN + SEALED} {SEALED}"], "first two chunks swapped"),
        ("swap-chunks-1-2", big, "k1", [f"swap {HEADER_LEN + SEALED} {HEADER_LEN + 2 * SEALED} {SEALED}"], "chunks 1 and 2 swapped"),
        ("flip-version-bit", "k1-21", "k1", [f"flip {len(MAGIC)} 80"], "version 0x81"),
        ("flip-key-id", "k1-21", "k1 k2", [f"flip {id_off} 01"], f"unknown id {bytes(flipped_id).hex()}"),
        ("flip-key-id-last-byte", big, "k1", [f"flip {id_off + 15} 80"], "unknown id"),
        ("wrong-key", "k1-21", "k1 k2", [f"set {id_off} {k2.key_id.hex()}"], "header names k2 but the blob was sealed with k1"),
        ("flip-nonce-first", "k1-21", "k1", [f"flip {n_off} 01"], "a different file key"),
        ("flip-nonce-last", big, "k1", [f"flip {HEADER_LEN - 1} 80"], "a different file key"),
        ("flip-chunk-body-0", "k1-21", "k1", [f"flip {HEADER_LEN} 01"], "first ciphertext byte"),
        ("flip-chunk-body-2", big, "k1", [f"flip {HEADER_LEN + 2 * SEALED + 100} 04"], "chunks 0 and 1 still verify"),
        ("flip-tag-0", "k1-21", "k1", [f"flip {HEADER_LEN + 21 + 15} 80"], "last tag byte"),
        ("flip-tag-empty", "k1-empty", "k1", [f"flip {HEADER_LEN} 01"], "tag of the only, empty chunk"),
        ("flip-tag-1", big, "k1", [f"flip {HEADER_LEN + 2 * SEALED - 1} 01"], "tag of chunk 1"),
        ("flip-tag-last", big, "k1", [f"flip {big_len - 16} 02"], "first tag byte of chunk 3"),
        (
            "empty-final-chunk-index-1",
            big,
            "k1",
            [f"truncate {HEADER_LEN + SEALED}", f"append {empty_final_1.hex()}"],
            "chunk 1 is a correctly sealed empty final chunk, which no encoder produces",
        ),
        (
            "empty-final-chunk-index-3",
            big,
            "k1",
            [f"truncate {HEADER_LEN + 3 * SEALED}", f"append {empty_final_3.hex()}"],
            "chunk 3 is a correctly sealed empty final chunk, which no encoder produces",
        ),
    ]
    seen = set()
    for name, base, keyring, muts, comment in decrypt_specs:
        assert name not in seen
        seen.add(name)
        blob = blobs[base]
        for m in muts:
            blob = mutate(blob, m)
        ring = [keys[k] for k in keyring.split() if k != "-"]
        try:
            result = decrypt(blob, ring)
            if result is None:
                expect = "not_blob"
            else:
                assert result == plains[base], name
                expect = "ok"
        except BlobError as e:
            expect = e.code()
        rec = [f"\n# {comment}", f"[decrypt {name}]", f"base = {base}", f"keys = {keyring}"]
        rec += [f"mutate = {m}" for m in muts]
        rec.append(f"expect = {expect}")
        out.append("\n".join(rec) + "\n")

    # Expected error kinds for the named failing cases (what the spec demands).
    sanity = {
        "magic-only": "truncated_header",
        "truncated-header": "truncated_header",
        "unknown-version-2": "unsupported_version 2",
        "unknown-key": f"unknown_key {k1.id_hex}",
        "flip-key-id": f"unknown_key {bytes(flipped_id).hex()}",
        "header-only": "missing_final_chunk",
        "drop-last-chunk": "authentication 2",
        "drop-last-two-chunks": "authentication 1",
        "extra-byte-small": "authentication 0",
        "extra-byte-large": "authentication 3",
        "swap-chunks-0-1": "authentication 0",
        "swap-chunks-1-2": "authentication 1",
        "wrong-key": "authentication 0",
        "flip-nonce-first": "authentication 0",
        "flip-chunk-body-2": "authentication 2",
        "flip-tag-1": "authentication 1",
        "empty-final-chunk-index-1": "authentication 1",
        "empty-final-chunk-index-3": "authentication 3",
        "not-blob-flipped-magic": "not_blob",
        "ok-keyring-k2-k1": "ok",
    }
    text = "".join(out)
    for name, expect in sanity.items():
        assert f"[decrypt {name}]" in text
        rec = text.split(f"[decrypt {name}]\n", 1)[1].split("\n\n", 1)[0]
        assert f"expect = {expect}\n" in rec + "\n", (name, rec)
    # The empty final chunks really are valid AEAD chunks: only the index>0 rule rejects them.
    AESGCMSIV(big_fk).decrypt(chunk_nonce(1, True), empty_final_1, big_header)

    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "blobs.txt"), "w", newline="\n") as f:
        f.write(text)
    generate_keyfiles(directory)
    generate_recipients(directory)


def generate_keyfiles(directory):
    kdir = os.path.join(directory, "keyfiles")
    os.makedirs(kdir, exist_ok=True)
    for old in os.listdir(kdir):
        os.remove(os.path.join(kdir, old))
    a = FileKey("default", 1, bytes(range(32)))
    b = FileKey("prod_2-x", 3, bytes(range(0xFF, 0xDF, -1)))
    c = FileKey("default", 2, hashlib.sha256(b"generation two").digest())
    one = write_block(a)
    files = []  # (file name, bytes, expectation lines)

    def valid(name, data, keys):
        parsed = parse_key_file(data)
        assert [(k.name, k.generation, k.sub.id_hex, k.vouch) for k in parsed] == [
            (k.name, k.generation, k.sub.id_hex, k.vouch) for k in keys
        ], name
        exp = [f"keys = {len(keys)}"]
        exp += [f"key = {k.name} {k.generation} {k.sub.id_hex}" for k in keys]
        exp += [f"vouch = {k.sub.id_hex} {k.vouch[0].hex()} {k.vouch[1].hex()}" for k in keys if k.vouch]
        files.append((name, data, exp))

    def invalid(name, data, kind, message):
        try:
            parse_key_file(data)
        except KeyFileError as e:
            assert e.kind == kind, (name, e)
        else:
            raise AssertionError(f"{name} was accepted")
        files.append((name, data, [f"error = {kind}", f"message = {message}"]))

    # Valid files.
    two = write_key_file([a], "git-secret key file written by scripts/reference.py.\nKeep it private.") + (
        "\n# a second file concatenated after the first:\n" + write_key_file([b], "second key")
    )
    valid("valid-two-blocks.key", two.encode(), [a, b])
    text = (
        "\n   # indented comment\n"
        f"  {BEGIN}  \n"
        "\tkey: " + base64.b64encode(c.material).decode() + "\t\n"
        "# comment inside a block\n"
        "\n"
        f"id: {c.sub.id_hex}\n"
        "generation: 2\n"
        "name: default\n"
        f"{END}\n"
        f"{one}"
        f"{one}"  # a block with an id already read is ignored
    )
    valid("valid-reordered-dedup.key", text.encode(), [c, a])
    valid("valid-crlf.key", write_key_file([a, c], "CRLF line endings").replace("\n", "\r\n").encode(), [a, c])
    valid("valid-no-final-newline.key", write_block(b).rstrip("\n").encode(), [b])

    # Invalid files; `message` is what the Rust implementation must mention.
    key_line = next(line for line in one.splitlines() if line.startswith("key: "))
    material = key_line[len("key: ") :]
    typo_material = ("B" if material[0] != "B" else "C") + material[1:]
    id_line = f"id: {a.sub.id_hex}"
    typo_id = a.sub.id_hex[:-1] + ("0" if a.sub.id_hex[-1] != "0" else "1")
    # Last character before '=' carries 2 padding bits; setting them gives a
    # non-canonical encoding of the same 32 bytes.
    idx = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".index(material[42])
    assert idx & 3 == 0
    noncanonical = material[:42] + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[idx | 1] + "="
    assert base64.b64decode(noncanonical) == a.material

    invalid("invalid-truncated-end.key", one.replace(END + "\n", "").encode(), "truncated", "truncated")
    invalid(
        "invalid-truncated-mid-block.key",
        one[: one.index("key: ")].encode(),
        "truncated",
        "truncated",
    )
    invalid(
        "invalid-wrong-version.key",
        one.replace("KEY v1-----", "KEY v3-----").encode(),
        "unsupported_version",
        "v3",
    )
    # Vouches (FORMAT.md section 4.2): generation 2 vouched for by generation 1,
    # and a new key name vouched for by the default key.
    c2 = FileKey("default", 2, c.material).vouch_with(a)
    p1 = FileKey("prod", 1, hashlib.sha256(b"prod one").digest()).vouch_with(c2)
    valid("valid-vouched-chain.key", write_key_file([a, c2, p1], "a vouched chain").encode(), [a, c2, p1])
    valid("valid-vouch-by-absent-key.key", write_block(c2).encode(), [c2])
    chain = write_block(a) + write_block(c2)
    mac = c2.vouch[1].hex()
    forged = mac[:-1] + ("0" if mac[-1] != "0" else "1")
    invalid("invalid-vouch-forged.key", chain.replace(mac, forged).encode(), "bad_vouch", "does not verify")
    selfish = FileKey("default", 2, c.material)
    selfish.vouch = (c.sub.key_id, c.sub.vouch_for("default", 2, c.sub.key_id))
    invalid("invalid-vouch-self.key", write_block(selfish).encode(), "bad_vouch", "does not verify")
    invalid(
        "invalid-vouch-in-v1-block.key",
        write_block(c2).replace(BEGIN_V2, BEGIN).encode(),
        "unknown_field",
        "unknown field",
    )
    invalid(
        "invalid-vouch-missing.key",
        "".join(l + "\n" for l in write_block(c2).splitlines() if not l.startswith("vouch:")).encode(),
        "missing_field",
        "missing 'vouch:'",
    )
    invalid(
        "invalid-vouch-uppercase.key",
        write_block(c2).replace(mac, mac.upper()).encode(),
        "bad_vouch",
        "vouch must be 32 lowercase hex",
    )
    invalid(
        "invalid-generation-too-high.key",
        one.replace("generation: 1\n", "generation: 4294967295\n").encode(),
        "generation_too_high",
        "out of range",
    )
    invalid("invalid-key-typo.key", one.replace(material, typo_material).encode(), "id_mismatch", "does not match")
    invalid("invalid-id-typo.key", one.replace(id_line, f"id: {typo_id}").encode(), "id_mismatch", "does not match")
    invalid(
        "invalid-id-of-other-key.key",
        one.replace(id_line, f"id: {b.sub.id_hex}").encode(),
        "id_mismatch",
        "does not match",
    )
    invalid("invalid-unknown-field.key", one.replace("name: ", "nmae: ").encode(), "unknown_field", "unknown field")
    invalid(
        "invalid-extra-field.key",
        one.replace("generation: 1\n", "generation: 1\ncomment: hello\n").encode(),
        "unknown_field",
        "unknown field",
    )
    invalid(
        "invalid-non-ascii.key",
        ("# cl\u00e9 de d\u00e9p\u00f4t\n" + one).encode("utf-8"),
        "not_printable",
        "not printable ASCII",
    )
    invalid("invalid-latin1-byte.key", b"# \xe9\n" + one.encode(), "not_printable", "not printable ASCII")
    invalid("invalid-control-byte.key", one.replace("name: default", "name: def\x07ault").encode(), "not_printable", "not printable ASCII")
    invalid("invalid-nul-byte.key", one.encode() + b"\0", "not_printable", "not printable ASCII")
    invalid("invalid-missing-field.key", one.replace("generation: 1\n", "").encode(), "missing_field", "missing 'generation:'")
    invalid("invalid-no-block.key", b"# only a comment\n\n", "no_block", "holds no git-secret key")
    invalid("invalid-empty.key", b"", "no_block", "holds no git-secret key")
    invalid("invalid-short-material.key", one.replace(material, "AAAA").encode(), "bad_key_material", "damaged")
    invalid(
        "invalid-unpadded-material.key",
        one.replace(material, material.rstrip("=")).encode(),
        "bad_key_material",
        "damaged",
    )
    invalid(
        "invalid-bad-base64-char.key",
        one.replace(material, "!" + material[1:]).encode(),
        "bad_key_material",
        "damaged",
    )
    invalid(
        "invalid-noncanonical-base64.key",
        one.replace(material, noncanonical).encode(),
        "bad_key_material",
        "damaged",
    )
    invalid("invalid-uppercase-id.key", one.replace(id_line, id_line.upper().replace("ID:", "id:")).encode(), "bad_id", "lowercase hex")
    invalid("invalid-name.key", one.replace("name: default", "name: -default").encode(), "bad_name", "invalid key name")
    invalid("invalid-generation-zero.key", one.replace("generation: 1", "generation: 0").encode(), "bad_generation", "positive number")
    invalid("invalid-not-a-key-file.key", b"hello\n", "unexpected_line", "is this a git-secret key file")
    # FORMAT.md: "Each field MUST appear exactly once per block". The second `key:`
    # line carries the material that matches the id, so a reader where the last
    # value wins accepts this file.
    dup = one.replace(key_line, f"key: {base64.b64encode(b.material).decode()}\n{key_line}")
    invalid("invalid-duplicate-field.key", dup.encode(), "duplicate_field", "more than once")
    files[-1][2].append(
        "known_disagreement = src/key.rs accepts a repeated field (the last value wins); FORMAT.md section 4 forbids it"
    )

    lines = [
        "# git-secret key file test vectors (FORMAT.md section 4).",
        "# Generated by `python3 scripts/reference.py generate tests/vectors`; do not edit by hand.",
        "# [keyfile FILE] names a file in keyfiles/. A valid file lists `keys = COUNT` and",
        "# `key = NAME GENERATION ID` in file order (after dropping blocks whose id was already read).",
        "# An invalid file gives `error = KIND` (the reference's classification) and",
        "# `message = TEXT` (a substring the Rust error message must contain).",
        "# `known_disagreement = WHY` marks a vector the Rust code is known to accept;",
        "# tests/it/vectors.rs reports it instead of failing, and fails once the Rust rejects it",
        "# with a message that does not contain TEXT.",
    ]
    for name, data, exp in files:
        with open(os.path.join(kdir, name), "wb") as f:
            f.write(data)
        lines.append("")
        lines.append(f"[keyfile {name}]")
        lines.extend(exp)
    with open(os.path.join(directory, "keyfiles.txt"), "w", newline="\n") as f:
        f.write("\n".join(lines) + "\n")


# --------------------------------------------------------------------------
# Section 6.1: the authenticated recipient list
# --------------------------------------------------------------------------

INFO_RECIPIENTS = b"git-secret v1 recipients"
AUTH_PREFIX = "#= "
MAC_INPUT_HEADER = b"git-secret recipients v1\n"
BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
P25519 = 2**255 - 19


class RecipientError(Exception):
    pass


def _bech32_polymod(values):
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def _bech32_hrp(hrp):
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def bech32_encode(hrp, data):
    acc, bits, five = 0, 0, []
    for b in data:
        acc = acc << 8 | b
        bits += 8
        while bits >= 5:
            bits -= 5
            five.append(acc >> bits & 31)
    if bits:
        five.append(acc << (5 - bits) & 31)
    poly = _bech32_polymod(_bech32_hrp(hrp) + five + [0] * 6) ^ 1
    five += [poly >> 5 * (5 - i) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH32_CHARSET[d] for d in five)


def bech32_decode(text):
    """(hrp, bytes) of a lowercase Bech32 string (checksum constant 1), or None."""
    if text != text.lower() or "1" not in text:
        return None
    hrp, _, rest = text.rpartition("1")
    if not hrp or len(rest) < 6 or any(c not in BECH32_CHARSET for c in rest):
        return None
    five = [BECH32_CHARSET.index(c) for c in rest]
    if _bech32_polymod(_bech32_hrp(hrp) + five) != 1:
        return None
    acc, bits, out = 0, 0, []
    for d in five[:-6]:
        acc = acc << 5 | d
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append(acc >> bits & 0xFF)
    if bits >= 5 or acc & ((1 << bits) - 1):
        return None
    return hrp, bytes(out)


def _ssh_strings(blob):
    out = []
    while blob:
        if len(blob) < 4:
            return None
        n = int.from_bytes(blob[:4], "big")
        if len(blob) < 4 + n:
            return None
        out.append(blob[4 : 4 + n])
        blob = blob[4 + n :]
    return out


def _ssh_blob(key):
    kind, _, data = key.partition(" ")
    try:
        blob = base64.b64decode(data, validate=True)
    except ValueError:
        return None
    fields = _ssh_strings(blob)
    if not fields or fields[0] != kind.encode():
        return None
    return fields


def x25519_of(key):
    """The X25519 public key a recipient amounts to (FORMAT.md 6.1), or None."""
    if key.startswith("age1"):
        decoded = bech32_decode(key)
        return decoded[1] if decoded else None
    if key.startswith("ssh-ed25519 "):
        fields = _ssh_blob(key)
        if not fields or len(fields) != 2 or len(fields[1]) != 32:
            return None
        y = int.from_bytes(fields[1], "little") & ((1 << 255) - 1)
        u = (1 + y) * pow(1 - y, P25519 - 2, P25519) % P25519
        return u.to_bytes(32, "little")
    return None


def valid_public_key(key):
    if key.startswith("age1"):
        decoded = bech32_decode(key)
        return decoded is not None and decoded[0] == "age" and len(decoded[1]) == 32
    if key.startswith("ssh-ed25519 "):
        # Shape only: that the 32 bytes are an Edwards point is not checked here.
        return x25519_of(key) is not None
    if key.startswith("ssh-rsa "):
        fields = _ssh_blob(key)
        return bool(fields) and len(fields) == 3
    return False


def parse_recipient(line):
    """(key, comment) of one recipient line, FORMAT.md 6.1; RecipientError if invalid."""
    text = line.strip()
    if "\n" in text or "\0" in text:
        raise RecipientError("line break")
    if " # " in text:
        key, _, comment = text.partition(" # ")
        key, comment = key.strip(), comment.strip()
    else:
        key, comment = text, ""
    if key.startswith("ssh-"):
        words = key.split()
        key = " ".join(words[:2])
        if not comment:
            comment = " ".join(words[2:])
    if not valid_public_key(key):
        raise RecipientError("not a public key")
    return key, comment


def canonical_line(recipient):
    key, comment = recipient
    return f"{key} # {comment}" if comment else key


def same_key(a, b):
    if a[0] == b[0]:
        return True
    xa, xb = x25519_of(a[0]), x25519_of(b[0])
    return xa is not None and xa == xb


def has_duplicates(recipients):
    return any(same_key(a, b) for i, a in enumerate(recipients) for b in recipients[i + 1 :])


def recipients_mac(sub, recipients):
    mac_key = hkdf_expand(sub.enc_key, INFO_RECIPIENTS, 32)
    msg = MAC_INPUT_HEADER + b"".join(canonical_line(r).encode() + b"\n" for r in recipients)
    return hmac.new(mac_key, msg, hashlib.sha256).digest()


def file_lines(text):
    """Lines split at LF, a CR before the LF dropped (no other line breaks)."""
    *ended, last = text.split("\n")
    lines = [l[:-1] if l.endswith("\r") else l for l in ended]
    return lines + [last] if last else lines


def read_list(text):
    """The recipients listed above the copy: 'ok', the list, or ('duplicate' | 'invalid', None)."""
    out = []
    for line in file_lines(text):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            out.append(parse_recipient(line))
        except RecipientError:
            return "invalid", None
    if has_duplicates(out):
        return "duplicate", None
    return "ok", out


def verdict(text, keyring):
    """FORMAT.md 6.1, reading: (verdict, authenticated list or None).

    keyring: list of (name, generation, Subkeys)."""
    copy = [l[len(AUTH_PREFIX) :] for l in file_lines(text) if l.startswith(AUTH_PREFIX)]
    if not copy:
        return "none", None
    if not keyring:
        return "unchecked", None
    if copy[0] != "version 1":
        return "damaged", None
    recipients, tags = [], []
    for line in copy[1:]:
        if line.startswith("recipient "):
            try:
                recipients.append(parse_recipient(line[len("recipient ") :]))
            except RecipientError:
                return "damaged", None
        elif line.startswith("mac "):
            words = line[len("mac ") :].split(" ")
            if len(words) != 4:
                return "damaged", None
            name, generation, key_id, tag = words
            if not re.fullmatch(r"[0-9]+", generation) or int(generation) >= 2**32:
                return "damaged", None
            if not re.fullmatch(r"[0-9a-f]{32}", key_id) or not re.fullmatch(r"(?:[0-9a-f]{2})*", tag):
                return "damaged", None
            tags.append((name, bytes.fromhex(key_id), bytes.fromhex(tag)))
        else:
            return "damaged", None
    if has_duplicates(recipients):
        return "damaged", None
    verified = stale = False
    for name, key_id, tag in tags:
        named = [k for k in keyring if k[0] == name]
        if not named:
            continue
        newest = max(named, key=lambda k: k[1])[2]
        if newest.key_id == key_id:
            if not hmac.compare_digest(recipients_mac(newest, recipients), tag):
                return "forged", None
            verified = True
        elif any(k[2].key_id == key_id for k in keyring):
            stale = True
    if verified:
        return "verified", recipients
    return ("stale" if stale else "unknown_key"), None


LIST_HEADER = (
    "# git-secret recipients: who can `git-secret unlock` this repository with their own key.\n"
    "# Managed by git-secret add-user / remove-user.\n"
)
COPY_HEADER = (
    "# Below: the authenticated copy of this list, written by add-user, remove-user and rotate with\n"
    "# the repository's key. Do not edit: list-users shows it and any difference from the lines above.\n"
)


def seal_list(recipients, keyring):
    """The copy an encoder writes (FORMAT.md 6.1): one tag per name, newest generation."""
    out = COPY_HEADER + AUTH_PREFIX + "version 1\n"
    out += "".join(f"{AUTH_PREFIX}recipient {canonical_line(r)}\n" for r in recipients)
    for name in sorted({k[0] for k in keyring}, key=lambda n: n.encode()):
        _, generation, sub = max((k for k in keyring if k[0] == name), key=lambda k: k[1])
        out += f"{AUTH_PREFIX}mac {name} {generation} {sub.id_hex} {recipients_mac(sub, recipients).hex()}\n"
    return out


def write_list(recipients, keyring):
    return LIST_HEADER + "".join(canonical_line(r) + "\n" for r in recipients) + seal_list(recipients, keyring)


def generate_recipients(directory):
    rdir = os.path.join(directory, "recipients")
    os.makedirs(rdir, exist_ok=True)
    for old in os.listdir(rdir):
        os.remove(os.path.join(rdir, old))
    keys = {
        "a1": ("default", 1, Subkeys(hashlib.sha256(b"recipients default 1").digest())),
        "a2": ("default", 2, Subkeys(hashlib.sha256(b"recipients default 2").digest())),
        "b1": ("prod", 1, Subkeys(hashlib.sha256(b"recipients prod 1").digest())),
    }

    def ring(names):
        return [keys[n] for n in names.split() if n != "-"]

    def age_key(seed):
        return bech32_encode("age", hashlib.sha256(seed).digest())

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    erin_pub = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"erin").digest()).public_key()
    erin_raw = erin_pub.public_bytes(Encoding.Raw, PublicFormat.Raw)
    erin_blob = b"\0\0\0\x0bssh-ed25519\0\0\0\x20" + erin_raw
    erin = ("ssh-ed25519 " + base64.b64encode(erin_blob).decode(), "erin@example.com")
    erin_as_age = (bech32_encode("age", x25519_of(erin[0])), "Erin (age)")
    carol = (age_key(b"carol"), "Carol")
    dave = (age_key(b"dave"), "")
    eve = (age_key(b"eve"), "Carol (new laptop)")
    team = [carol, dave, erin]

    files = []  # (file, text, held keys, expectations)

    def add(name, text, held, copy, list_verdict=None, recipients=None, sealed=False):
        list_verdict = list_verdict or ("ok %d" % len(read_list(text)[1]) if read_list(text)[0] == "ok" else None)
        files.append((name, text, held, copy, list_verdict, recipients, sealed))

    base = write_list(team, ring("a1"))
    add("valid-one-key.txt", base, "a1", "verified", recipients=team, sealed=True)
    both = write_list(team, ring("a1 b1"))
    add("valid-two-names.txt", both, "a1 b1", "verified", recipients=team, sealed=True)
    add("valid-other-name-held.txt", both, "b1", "verified", recipients=team)
    rotated = write_list(team, ring("a1 a2"))
    add("valid-rotated.txt", rotated, "a1 a2", "verified", recipients=team, sealed=True)
    add("valid-crlf.txt", base.replace("\n", "\r\n"), "a1", "verified", recipients=team)
    add("valid-no-key-held.txt", base, "-", "unchecked")
    spaced = base.replace(f"#= recipient {canonical_line(carol)}\n", f"#= recipient   {carol[0]}  #   Carol  \n")
    assert spaced != base
    add("valid-copy-whitespace.txt", spaced, "a1", "verified", recipients=team)
    words = base.replace(f"#= recipient {canonical_line(erin)}\n", f"#= recipient {erin[0]}   erin@example.com\n")
    assert words != base
    add("valid-ssh-comment-word.txt", words, "a1", "verified", recipients=team)
    generation = base.replace("#= mac default 1 ", "#= mac default 7 ")
    add("valid-generation-informative.txt", generation, "a1", "verified", recipients=team)
    add("valid-empty-list.txt", write_list([], ring("a1")), "a1", "verified", recipients=[], sealed=True)

    body = LIST_HEADER + "".join(canonical_line(r) + "\n" for r in team)
    add("invalid-no-copy.txt", body, "a1", "none")
    add("invalid-no-copy-comments-kept.txt", body + COPY_HEADER, "a1", "none")
    add("invalid-no-copy-indented.txt", base.replace("\n#= ", "\n #= "), "a1", "none")
    add("invalid-version-2.txt", base.replace("#= version 1\n", "#= version 2\n"), "a1", "damaged")
    add("invalid-version-missing.txt", base.replace("#= version 1\n", ""), "a1", "damaged")
    add("invalid-version-twice.txt", base.replace("#= version 1\n", "#= version 1\n#= version 1\n"), "a1", "damaged")
    add("invalid-unknown-line.txt", base + "#= note trust me\n", "a1", "damaged")
    add("invalid-copy-bad-key.txt", base.replace(f"#= recipient {carol[0]}", f"#= recipient {carol[0][:-1]}q"), "a1", "damaged")
    add("invalid-copy-nul.txt", base.replace("#= recipient " + canonical_line(carol), "#= recipient " + canonical_line(carol) + "\0"), "a1", "damaged")
    sealed_dup = write_list([carol, dave, carol], ring("a1"))
    add("invalid-copy-duplicate.txt", sealed_dup, "a1", "damaged", list_verdict="duplicate")
    sealed_dup2 = write_list([erin, erin_as_age], ring("a1"))
    add("invalid-copy-duplicate-ssh-age.txt", sealed_dup2, "a1", "damaged", list_verdict="duplicate")
    mac_line = next(l for l in base.split("\n") if l.startswith("#= mac "))
    m_name, m_gen, m_id, m_tag = mac_line[len("#= mac ") :].split(" ")
    add("invalid-mac-uppercase.txt", base.replace(m_tag, m_tag.upper()), "a1", "damaged")
    add("invalid-mac-three-fields.txt", base.replace(f" {m_id} ", " "), "a1", "damaged")
    add("invalid-mac-double-space.txt", base.replace(f" {m_id} ", f"  {m_id} "), "a1", "damaged")
    add("invalid-mac-short-id.txt", base.replace(m_id, m_id[:-2]), "a1", "damaged")
    add("invalid-mac-odd-tag.txt", base.replace(m_tag, m_tag[:-1]), "a1", "damaged")
    add("invalid-mac-generation-plus.txt", base.replace("#= mac default 1 ", "#= mac default +1 "), "a1", "damaged")
    add("invalid-mac-generation-word.txt", base.replace("#= mac default 1 ", "#= mac default one "), "a1", "damaged")
    injected = base.replace("#= version 1\n", f"#= version 1\n#= recipient {canonical_line(eve)}\n")
    add("invalid-forged-added.txt", injected.replace(COPY_HEADER, canonical_line(eve) + "\n" + COPY_HEADER), "a1", "forged")
    add("invalid-forged-removed.txt", base.replace(f"#= recipient {dave[0]}\n", ""), "a1", "forged")
    add("invalid-forged-comment.txt", base.replace("#= recipient " + canonical_line(carol), "#= recipient " + carol[0] + " # Carol (admin)"), "a1", "forged")
    add("invalid-forged-reordered.txt", base.replace(
        f"#= recipient {canonical_line(carol)}\n#= recipient {canonical_line(dave)}\n",
        f"#= recipient {canonical_line(dave)}\n#= recipient {canonical_line(carol)}\n"), "a1", "forged")
    flipped = m_tag[:-1] + ("0" if m_tag[-1] != "0" else "1")
    add("invalid-forged-flipped-tag.txt", base.replace(m_tag, flipped), "a1", "forged")
    add("invalid-forged-truncated-tag.txt", base.replace(m_tag, m_tag[:-2]), "a1", "forged")
    add("invalid-forged-empty-tag.txt", base.replace(" " + m_tag, " "), "a1", "forged")
    b_tag = next(l for l in both.split("\n") if l.startswith("#= mac prod ")).rsplit(" ", 1)[1]
    add("invalid-forged-one-of-two.txt", both.replace(b_tag, b_tag[::-1]), "a1 b1", "forged")
    add("invalid-stale.txt", base, "a1 a2", "stale")
    add("invalid-stale-list-of-removed.txt", write_list([carol, eve], ring("a1")), "a1 a2", "stale")
    add("invalid-unknown-newer.txt", write_list(team, ring("a2")), "a1", "unknown_key")
    add("invalid-unknown-name.txt", write_list(team, ring("b1")), "a1", "unknown_key")
    add("invalid-list-duplicate.txt", body + canonical_line(carol) + "\n" + seal_list(team, ring("a1")), "a1", "verified",
        list_verdict="duplicate", recipients=team)
    add("invalid-list-duplicate-ssh-age.txt", body + canonical_line(erin_as_age) + "\n" + seal_list(team, ring("a1")), "a1",
        "verified", list_verdict="duplicate", recipients=team)
    add("invalid-list-nul.txt", base.replace(canonical_line(carol) + "\n", canonical_line(carol) + "\0\n", 1), "a1", "verified",
        list_verdict="invalid", recipients=team)
    add("invalid-list-bad-key.txt", base.replace(canonical_line(dave) + "\n", "age1notakey\n", 1), "a1", "verified",
        list_verdict="invalid", recipients=team)

    out = [
        "# git-secret authenticated recipient list test vectors (FORMAT.md section 6.1).",
        "# Generated by `python3 scripts/reference.py generate tests/vectors`; do not edit by hand.",
        "# [key K]: a repository key (name, generation, material, id) a reader may hold.",
        "# [recipients FILE] names a recipients.txt in recipients/, read by a reader holding",
        "# `keys = K ...` (`-`: none). `list = ok COUNT | duplicate | invalid` is the verdict on the",
        "# lines above the copy; `copy = verified | unchecked | none | damaged | forged | stale |",
        "# unknown_key` the verdict on the `#=` copy; with `verified`, `recipient = LINE` gives the",
        "# authenticated list (canonical lines, in order). `sealed = yes`: the file is exactly what",
        "# an encoder holding those keys writes for that list (header, lines, copy).",
        "",
    ]
    for k, (name, generation, sub) in keys.items():
        out += [f"[key {k}]", f"name = {name}", f"generation = {generation}", f"material = {sub.key.hex()}",
                f"id = {sub.id_hex}", f"mac_key = {hkdf_expand(sub.enc_key, INFO_RECIPIENTS, 32).hex()}", ""]
    # The MAC input of the basic list, spelled out.
    msg = MAC_INPUT_HEADER + b"".join(canonical_line(r).encode() + b"\n" for r in team)
    out += ["[mac basic]", "key = a1", f"input = {msg.hex()}", f"tag = {recipients_mac(keys['a1'][2], team).hex()}", ""]
    for name, text, held, copy, list_verdict, recipients, sealed in files:
        got_list = read_list(text)
        expect_list = list_verdict
        assert (got_list[0] if got_list[0] != "ok" else "ok %d" % len(got_list[1])) == expect_list, (name, got_list)
        got = verdict(text, ring(held))
        assert got[0] == copy, (name, got[0], copy)
        if copy == "verified":
            assert got[1] == recipients, name
        if sealed:
            assert text == write_list(recipients, ring(held)), name
        with open(os.path.join(rdir, name), "w", newline="", encoding="utf-8") as f:
            f.write(text)
        out += [f"[recipients {name}]", f"keys = {held}", f"list = {expect_list}", f"copy = {copy}"]
        if copy == "verified":
            out += [f"recipient = {canonical_line(r)}" for r in recipients]
        if sealed:
            out.append("sealed = yes")
        out.append("")
    with open(os.path.join(directory, "recipients.txt"), "w", newline="\n") as f:
        f.write("\n".join(out))


def check_recipients(directory):
    rdir = os.path.join(directory, "recipients")
    keys, listed, count = {}, set(), 0
    for kind, name, fields in read_records(os.path.join(directory, "recipients.txt")):
        if kind == "key":
            sub = Subkeys(bytes.fromhex(one(fields, "material")))
            assert sub.id_hex == one(fields, "id"), name
            assert hkdf_expand(sub.enc_key, INFO_RECIPIENTS, 32).hex() == one(fields, "mac_key"), name
            keys[name] = (one(fields, "name"), int(one(fields, "generation")), sub)
        elif kind == "mac":
            sub = keys[one(fields, "key")][2]
            mac_key = hkdf_expand(sub.enc_key, INFO_RECIPIENTS, 32)
            tag = hmac.new(mac_key, bytes.fromhex(one(fields, "input")), hashlib.sha256).hexdigest()
            assert tag == one(fields, "tag"), name
        elif kind == "recipients":
            listed.add(name)
            with open(os.path.join(rdir, name), encoding="utf-8", newline="") as f:
                text = f.read()
            ring = [keys[k] for k in one(fields, "keys").split() if k != "-"]
            status, got = read_list(text)
            got_list = f"ok {len(got)}" if status == "ok" else status
            assert got_list == one(fields, "list"), f"{name}: list {got_list}"
            copy, authenticated = verdict(text, ring)
            assert copy == one(fields, "copy"), f"{name}: copy {copy}"
            if copy == "verified":
                assert [canonical_line(r) for r in authenticated] == [v for f, v in fields if f == "recipient"], name
            if any(f == "sealed" for f, _ in fields):
                assert text == write_list(authenticated, ring), f"{name}: not what an encoder writes"
            count += 1
        else:
            raise AssertionError(f"unknown record kind {kind}")
    assert listed == set(os.listdir(rdir)), "recipients/ and recipients.txt disagree"
    assert count >= 30, count
    return count


# --------------------------------------------------------------------------
# Vector checking
# --------------------------------------------------------------------------


def read_records(path):
    records, current = [], None
    with open(path, encoding="ascii") as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            m = re.fullmatch(r"\[(\w+) (\S+)\]", line)
            if m:
                current = (m.group(1), m.group(2), [])
                records.append(current)
                continue
            field, sep, value = line.partition(" = ")
            assert sep and current is not None, f"{path}: bad line {line!r}"
            current[2].append((field, value.strip()))
    return records


def one(fields, name):
    values = [v for f, v in fields if f == name]
    assert len(values) == 1, f"expected exactly one {name!r}, got {values}"
    return values[0]


def check(directory):
    counts = {}
    keys, blobs, plains = {}, {}, {}
    for kind, name, fields in read_records(os.path.join(directory, "blobs.txt")):
        if kind == "key":
            sub = Subkeys(bytes.fromhex(one(fields, "material")))
            assert sub.id_hex == one(fields, "id"), name
            assert sub.enc_key.hex() == one(fields, "enc_key"), name
            assert sub.nonce_key.hex() == one(fields, "nonce_key"), name
            keys[name] = sub
        elif kind == "encrypt":
            sub = keys[one(fields, "key")]
            pt = parse_plaintext(one(fields, "plaintext"))
            blob = encrypt(sub, pt)
            assert blob[HEADER_LEN - 32 : HEADER_LEN].hex() == one(fields, "nonce"), name
            assert blob[:HEADER_LEN].hex() == one(fields, "header"), name
            assert max(1, -(-len(pt) // CHUNK)) == int(one(fields, "chunks")), name
            if any(f == "blob" for f, _ in fields):
                assert blob.hex() == one(fields, "blob"), name
            else:
                assert len(blob) == int(one(fields, "blob_len")), name
                assert hashlib.sha256(blob).hexdigest() == one(fields, "blob_sha256"), name
            assert decrypt(blob, [sub]) == pt, name
            blobs[name], plains[name] = blob, pt
        elif kind == "decrypt":
            base = one(fields, "base")
            blob = blobs[base]
            for f, v in fields:
                if f == "mutate":
                    blob = mutate(blob, v)
            ring = [keys[k] for k in one(fields, "keys").split() if k != "-"]
            expect = one(fields, "expect")
            try:
                result = decrypt(blob, ring)
                got = "not_blob" if result is None else "ok"
                if got == "ok":
                    assert result == plains[base], name
            except BlobError as e:
                got = e.code()
            assert got == expect, f"{name}: expected {expect}, got {got}"
        else:
            raise AssertionError(f"unknown record kind {kind}")
        counts[kind] = counts.get(kind, 0) + 1

    kdir = os.path.join(directory, "keyfiles")
    listed = set()
    for kind, name, fields in read_records(os.path.join(directory, "keyfiles.txt")):
        assert kind == "keyfile", kind
        listed.add(name)
        with open(os.path.join(kdir, name), "rb") as f:
            data = f.read()
        errors = [v for f, v in fields if f == "error"]
        if errors:
            try:
                parse_key_file(data)
            except KeyFileError as e:
                assert e.kind == errors[0], f"{name}: expected {errors[0]}, got {e}"
            else:
                raise AssertionError(f"{name}: accepted, expected {errors[0]}")
        else:
            parsed = parse_key_file(data)
            expected = [v for f, v in fields if f == "key"]
            assert int(one(fields, "keys")) == len(expected) == len(parsed), name
            got = [f"{k.name} {k.generation} {k.sub.id_hex}" for k in parsed]
            assert got == expected, f"{name}: {got} != {expected}"
            vouches = [f"{k.sub.id_hex} {k.vouch[0].hex()} {k.vouch[1].hex()}" for k in parsed if k.vouch]
            assert vouches == [v for f, v in fields if f == "vouch"], f"{name}: vouches {vouches}"
            for k in parsed:
                voucher = next((v for v in parsed if k.vouch and v.sub.key_id == k.vouch[0]), None)
                if voucher:
                    assert voucher.sub.vouch_for(k.name, k.generation, k.sub.key_id) == k.vouch[1], name
            # What the writer produces for each key reads back as the same key.
            for k in parsed:
                assert parse_key_file(write_block(k).encode())[0].sub.key_id == k.sub.key_id
        counts["keyfile"] = counts.get("keyfile", 0) + 1
    assert listed == set(os.listdir(kdir)), "keyfiles/ and keyfiles.txt disagree"
    counts["recipients"] = check_recipients(directory)
    assert counts.get("encrypt", 0) >= 7 and counts.get("decrypt", 0) >= 20 and counts.get("keyfile", 0) >= 10, counts
    return counts


def main(argv):
    if len(argv) != 3 or argv[1] not in ("generate", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    _selftest_primitives()
    if argv[1] == "generate":
        generate(argv[2])
    counts = check(argv[2])
    print("ok: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
