#!/usr/bin/env python3
"""Writes Tests/Fixtures/npz/: small .npz statistics files as the official AlphaEdit code
(rome/layer_stats.py -> util/runningstats.py, np.savez) writes them, plus damaged ones, and an
official-named file made from the oracle's layer-1 covariance.

Official layout of a cached statistics file (spec section 2.9):
  mom2.constructor  '<U..' 0-d   "util.runningstats.SecondMoment()"
  mom2.count        '<i8'  0-d   tokens
  mom2.mom2         '<f4'  d0 x d0, the UN-normalised sum S = sum_tokens k k^T
  sample_size       '<i8'  0-d   documents

Run from the repository root:  python3 scripts/make-npz-fixtures.py
Needs numpy, and safetensors and tokenizers for the oracle file. np.savez stamps the zip
entries with the current time, so a rerun changes bytes, not contents.
"""
import io
import json
import os
import struct
import zipfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "npz")
ORACLE = os.path.join(ROOT, "Tests", "Fixtures", "alphaedit-oracle")
D0 = 8
CONSTRUCTOR = "util.runningstats.SecondMoment()"


def statistics(dtype, seed=0, tokens=20, samples=5):
    rng = np.random.default_rng(seed)
    keys = rng.standard_normal((tokens, D0)).astype(dtype)
    s = keys.T @ keys  # symmetric
    return {"mom2.constructor": np.array(CONSTRUCTOR), "mom2.count": np.array(tokens),
            "mom2.mom2": s.astype(dtype), "sample_size": np.array(samples)}


def npy_bytes(array, version=None):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asanyarray(array), version=version, allow_pickle=True)
    return buffer.getvalue()


def write_zip(name, members, compression=zipfile.ZIP_STORED):
    """members: dict key -> raw .npy bytes (written as key + '.npy')."""
    with zipfile.ZipFile(os.path.join(OUT, name), "w", compression=compression) as z:
        for key, data in members.items():
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = compression
            z.writestr(info, data)


def members_of(arrays, **versions):
    return {k: npy_bytes(v, versions.get(k)) for k, v in arrays.items()}


def header(descr, fortran, shape, version=1, raw=None):
    """A hand-made .npy header (for the damaged files)."""
    text = raw if raw is not None else "{'descr': %r, 'fortran_order': %s, 'shape': %r, }" % (descr, fortran, shape)
    text = text.encode("latin1")
    length_bytes = 2 if version == 1 else 4
    pad = -(8 + length_bytes + len(text) + 1) % 64
    text = text + b" " * pad + b"\n"
    length = struct.pack("<H" if length_bytes == 2 else "<I", len(text))
    return b"\x93NUMPY" + bytes([version, 0]) + length + text


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {}

    # Well-formed: stored (np.savez) and deflated (np.savez_compressed), float32 and float64.
    for dtype, tag, seed in [(np.float32, "f4", 1), (np.float64, "f8", 2)]:
        arrays = statistics(dtype, seed=seed)
        np.savez(os.path.join(OUT, f"stored_{tag}.npz"), **arrays)
        np.savez_compressed(os.path.join(OUT, f"deflated_{tag}.npz"), **arrays)
        for kind in ("stored", "deflated"):
            expected[f"{kind}_{tag}.npz"] = {"count": int(arrays["mom2.count"]), "samples": int(arrays["sample_size"]),
                                            "sum": [float(x) for x in arrays["mom2.mom2"].astype(np.float64).ravel()]}

    # Column-major storage of a NON-symmetric matrix, big-endian floats, header versions 2 and 3,
    # an int32 count and no sample_size: all valid, all must read as the row-major matrix.
    rng = np.random.default_rng(3)
    odd = rng.standard_normal((D0, D0))
    base = {"mom2.count": np.array(7), "sample_size": np.array(3)}
    variants = {
        "fortran_f8.npz": members_of({**base, "mom2.mom2": np.asfortranarray(odd)}),
        "bigendian_f8.npz": members_of({**base, "mom2.mom2": odd.astype(">f8")}),
        "version2_f8.npz": members_of({**base, "mom2.mom2": odd}, **{"mom2.mom2": (2, 0)}),
        "version3_f8.npz": members_of({**base, "mom2.mom2": odd}, **{"mom2.mom2": (3, 0)}),
        "int32count_nosamples_f8.npz": members_of({"mom2.count": np.array(7, dtype="<i4"), "mom2.mom2": odd}),
    }
    assert np.isfortran(np.asfortranarray(odd))
    for name, members in variants.items():
        write_zip(name, members, zipfile.ZIP_DEFLATED if "version" in name else zipfile.ZIP_STORED)
        expected[name] = {"count": 7, "samples": 0 if "nosamples" in name else 3, "sum": [float(x) for x in odd.ravel()]}

    # Damaged files: each must give an error naming the file and the member.
    good = members_of(statistics(np.float32, seed=4))
    good_mom2 = good["mom2.mom2"]
    data_f4 = np.zeros((D0, D0), dtype=np.float32).tobytes()

    def damaged(name, member_bytes, member="mom2.mom2", compression=zipfile.ZIP_STORED):
        members = dict(good)
        members[member] = member_bytes
        write_zip(name, members, compression)

    damaged("bad_magic.npz", b"\x93NUMPX" + good_mom2[6:])
    damaged("bad_version.npz", good_mom2[:6] + bytes([4, 0]) + good_mom2[8:])
    damaged("bad_header_keys.npz", header(None, None, None, raw="{'descr': '<f4', 'shape': (8, 8), }") + data_f4)
    damaged("bad_header_syntax.npz", header(None, None, None, raw="{'descr': '<f4', 'fortran_order': False, 'shape': (8, 8 }") + data_f4)
    damaged("bad_shape.npz", header(None, None, None, raw="{'descr': '<f4', 'fortran_order': False, 'shape': (8, -8), }") + data_f4)
    damaged("truncated_data.npz", header("<f4", False, (8, 8)) + data_f4[:-12], compression=zipfile.ZIP_DEFLATED)
    damaged("extra_data.npz", header("<f4", False, (8, 8)) + data_f4 + b"\0\0\0\0")
    damaged("truncated_header.npz", good_mom2[:20])
    damaged("object_dtype.npz", npy_bytes(np.array([[1.0, 2.0], [3.0, 4.0]], dtype=object)))
    damaged("complex_dtype.npz", npy_bytes(np.zeros((D0, D0), dtype=np.complex64)))
    damaged("not_square.npz", npy_bytes(np.zeros((D0, 4), dtype=np.float32)))
    damaged("string_count.npz", npy_bytes(np.array("twenty")), member="mom2.count")
    damaged("zero_count.npz", npy_bytes(np.array(0)), member="mom2.count")
    damaged("nan.npz", npy_bytes(np.full((D0, D0), np.nan, dtype=np.float32)))
    members = dict(good)
    del members["mom2.count"]
    write_zip("missing_count.npz", members)
    with open(os.path.join(OUT, "not_a_zip.npz"), "wb") as f:
        f.write(good_mom2)  # a bare .npy, not an archive
    np.savez(os.path.join(OUT, "stored_f4_copy.npz"), **statistics(np.float32, seed=4))
    with open(os.path.join(OUT, "stored_f4_copy.npz"), "rb") as f:
        whole = f.read()
    with open(os.path.join(OUT, "truncated_zip.npz"), "wb") as f:
        f.write(whole[: len(whole) // 2])
    # A flipped byte inside the stored mom2.mom2 data: only the CRC-32 can tell.
    at = whole.find(b"mom2.mom2.npy")
    at = whole.find(b"\x93NUMPY", at) + 200
    with open(os.path.join(OUT, "crc_mismatch.npz"), "wb") as f:
        f.write(whole[:at] + bytes([whole[at] ^ 0x40]) + whole[at + 1:])
    os.remove(os.path.join(OUT, "stored_f4_copy.npz"))

    # The oracle's layer-1 covariance C0 (float32, packed upper triangle) times the token count,
    # under the official name, as `alphaedit stats import` expects it.
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    tensors = load_file(os.path.join(ORACLE, "oracle.safetensors"))
    packed = tensors["cov.L1.triu"]
    d0 = int((np.sqrt(8 * packed.size + 1) - 1) / 2)
    cov = np.zeros((d0, d0), dtype=np.float32)
    cov[np.triu_indices(d0)] = packed
    cov = np.triu(cov) + np.triu(cov, 1).T
    tokenizer = Tokenizer.from_file(os.path.join(ORACLE, "model", "tokenizer.json"))
    with open(os.path.join(ORACLE, "model", "config.json")) as f:
        n_positions = json.load(f)["n_positions"]
    with open(os.path.join(ORACLE, "stats_corpus.txt"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    count = sum(min(len(tokenizer.encode(line).ids), n_positions) for line in lines)
    oracle_dir = os.path.join(OUT, "oracle")
    os.makedirs(oracle_dir, exist_ok=True)
    np.savez_compressed(os.path.join(oracle_dir, "transformer.h.1.mlp.c_proj_float32_mom2_2000.npz"),
                        **{"mom2.constructor": np.array(CONSTRUCTOR), "mom2.count": np.array(count),
                           "mom2.mom2": (cov * np.float32(count)).astype(np.float32), "sample_size": np.array(len(lines))})
    expected["oracle"] = {"count": count, "samples": len(lines), "layer": 1}

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
