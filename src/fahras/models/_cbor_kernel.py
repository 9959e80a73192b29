"""A compiled reader of the CBOR that omikuji writes its trees in (numba; used by :mod:`fahras.models.omikuji_fast`).

Decoding a 173 MB tree (671,000 yso titles) into Python objects with
``cbor2`` took 4.3 s and 1.4 GB; nearly all of it is long arrays of numbers
(the weights' rows, columns and values).  :func:`scan` reads the bytes once
to count and once to fill: every array whose elements are numbers lands in
one NumPy pool (integers or float32), and only the structure around them
(maps, their text keys, arrays of nodes) becomes tokens, which
:func:`decode` turns into Python dicts and lists holding NumPy slices of the
pools.  Only what serde's CBOR writer emits is read: definite lengths,
unsigned and negative integers, text, arrays, maps and half, single and
double floats; anything else is refused (:class:`ValueError`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_UINT, _NEGINT, _TEXT, _ARRAY, _MAP, _FLOAT, _INTS, _FLOATS, _BOOL, _NULL = range(10)


@njit(nogil=True, cache=True)
def _head(buf, pos):
    """(major type, argument, position after the head); argument -1 for an unsupported head."""
    b = buf[pos]
    major = b >> 5
    info = b & 31
    pos += 1
    if info < 24:
        return major, np.int64(info), pos
    if info == 24:
        return major, np.int64(buf[pos]), pos + 1
    if info == 25:
        return major, (np.int64(buf[pos]) << 8) | np.int64(buf[pos + 1]), pos + 2
    if info == 26:
        v = np.int64(0)
        for k in range(4):
            v = (v << 8) | np.int64(buf[pos + k])
        return major, v, pos + 4
    if info == 27:
        v = np.int64(0)
        for k in range(8):
            v = (v << 8) | np.int64(buf[pos + k])
        return major, v, pos + 8
    return major, np.int64(-1), pos


@njit(nogil=True, cache=True)
def _half(bits):
    sign = -1.0 if bits & 0x8000 else 1.0
    exponent = (bits >> 10) & 0x1F
    mantissa = bits & 0x3FF
    if exponent == 0:
        return sign * mantissa * 2.0 ** -24
    if exponent == 31:
        return sign * np.inf if mantissa == 0 else np.nan
    return sign * (1.0 + mantissa / 1024.0) * 2.0 ** (exponent - 15)


@njit(nogil=True, cache=True)
def _float(buf, pos, u32, f32, u64, f64):
    """(value, position after) of the float at ``pos`` (head 0xf9, 0xfa or 0xfb), or (nan, -1).
    ``u32``/``f32`` and ``u64``/``f64``: one-element scratch arrays viewing the same bytes."""
    b = buf[pos]
    if b == 0xF9:
        return _half((np.int64(buf[pos + 1]) << 8) | np.int64(buf[pos + 2])), pos + 3
    if b == 0xFA:
        v = np.uint32(0)
        for k in range(4):
            v = (v << np.uint32(8)) | np.uint32(buf[pos + 1 + k])
        u32[0] = v
        return np.float64(f32[0]), pos + 5
    if b == 0xFB:
        v = np.uint64(0)
        for k in range(8):
            v = (v << np.uint64(8)) | np.uint64(buf[pos + 1 + k])
        u64[0] = v
        return f64[0], pos + 9
    return np.nan, -1


@njit(nogil=True, cache=True)
def scan(buf, fill, kinds, args, extra, ints, floats):
    """One pass over ``buf``: with ``fill`` False, count (tokens, integers, floats), and put the largest
    integer of the arrays of integers in ``ints[0]``; with it, fill the arrays.  Returns (tokens,
    integers, floats), or (-1, position, 0) at something unsupported."""
    n_tok = 0
    n_int = 0
    n_flt = 0
    pos = 0
    u32 = np.zeros(1, dtype=np.uint32)
    f32 = u32.view(np.float32)
    u64 = np.zeros(1, dtype=np.uint64)
    f64 = u64.view(np.float64)
    end = buf.shape[0]
    # a stack of items still expected at each open container level
    stack = np.zeros(256, dtype=np.int64)
    depth = 0
    stack[0] = 1  # one top-level item
    while pos < end:
        if depth >= 0 and stack[depth] == 0:
            depth -= 1
            if depth < 0:
                break
            continue
        stack[depth] -= 1
        if pos + 9 > end and not _fits(buf, pos, end):
            return -1, pos, 0
        major, arg, nxt = _head(buf, pos)
        if major == 7:
            b = buf[pos]
            if b == 0xF4 or b == 0xF5:
                if fill:
                    kinds[n_tok] = _BOOL
                    args[n_tok] = 1 if b == 0xF5 else 0
                n_tok += 1
                pos += 1
                continue
            if b == 0xF6:
                if fill:
                    kinds[n_tok] = _NULL
                n_tok += 1
                pos += 1
                continue
            value, after = _float(buf, pos, u32, f32, u64, f64)
            if after < 0:
                return -1, pos, 0
            if fill:
                kinds[n_tok] = _FLOAT
                floats[n_flt] = value
                args[n_tok] = n_flt
            n_flt += 1
            n_tok += 1
            pos = after
            continue
        if arg < 0:
            return -1, pos, 0
        if major == 0 or major == 1:
            if fill:
                kinds[n_tok] = _UINT if major == 0 else _NEGINT
                args[n_tok] = arg
            n_tok += 1
            pos = nxt
        elif major == 3:
            if nxt + arg > end:
                return -1, pos, 0
            if fill:
                kinds[n_tok] = _TEXT
                args[n_tok] = nxt
                extra[n_tok] = arg
            n_tok += 1
            pos = nxt + arg
        elif major == 5:
            if fill:
                kinds[n_tok] = _MAP
                args[n_tok] = arg
            n_tok += 1
            pos = nxt
            depth += 1
            if depth >= stack.shape[0]:
                return -1, pos, 0
            stack[depth] = 2 * arg
        elif major == 4:
            n = arg
            if n > 0 and nxt >= end:
                return -1, pos, 0
            first = buf[nxt] >> 5 if n > 0 else 0
            if n == 0 or first == 0:
                # an array of unsigned integers: into the integer pool
                if fill:
                    kinds[n_tok] = _INTS
                    args[n_tok] = n_int
                    extra[n_tok] = n
                p = nxt
                for k in range(n):
                    if p + 9 > end and not _fits(buf, p, end):
                        return -1, p, 0
                    b = buf[p]
                    if b < 24:
                        v = np.int64(b)
                        p += 1
                    elif b == 24:
                        v = np.int64(buf[p + 1])
                        p += 2
                    elif b == 25:
                        v = (np.int64(buf[p + 1]) << 8) | np.int64(buf[p + 2])
                        p += 3
                    elif b == 26:
                        v = ((np.int64(buf[p + 1]) << 24) | (np.int64(buf[p + 2]) << 16)
                             | (np.int64(buf[p + 3]) << 8) | np.int64(buf[p + 4]))
                        p += 5
                    else:
                        m, v, p2 = _head(buf, p)
                        if m != 0 or v < 0:
                            return -1, p, 0
                        p = p2
                    if fill:
                        ints[n_int + k] = v
                    elif v > ints[0]:
                        ints[0] = v
                n_int += n
                n_tok += 1
                pos = p
            elif first == 7 and buf[nxt] >= 0xF9:
                if fill:
                    kinds[n_tok] = _FLOATS
                    args[n_tok] = n_flt
                    extra[n_tok] = n
                p = nxt
                for k in range(n):
                    if p + 9 > end and not _fits(buf, p, end):
                        return -1, p, 0
                    if buf[p] == 0xFA:
                        if fill:
                            u32[0] = ((np.uint32(buf[p + 1]) << np.uint32(24)) | (np.uint32(buf[p + 2]) << np.uint32(16))
                                      | (np.uint32(buf[p + 3]) << np.uint32(8)) | np.uint32(buf[p + 4]))
                            floats[n_flt + k] = f32[0]
                        p += 5
                        continue
                    value, p2 = _float(buf, p, u32, f32, u64, f64)
                    if p2 < 0:
                        return -1, p, 0
                    if fill:
                        floats[n_flt + k] = value
                    p = p2
                n_flt += n
                n_tok += 1
                pos = p
            else:
                if fill:
                    kinds[n_tok] = _ARRAY
                    args[n_tok] = n
                n_tok += 1
                pos = nxt
                depth += 1
                if depth >= stack.shape[0]:
                    return -1, pos, 0
                stack[depth] = n
        else:
            return -1, pos, 0
    for d in range(depth + 1):
        if stack[d] != 0:
            return -1, pos, 0  # the input ended inside an item
    if pos != end:
        return -1, pos, 0  # something after the item
    return n_tok, n_int, n_flt


@njit(nogil=True, cache=True)
def _fits(buf, pos, end):
    """Whether the head (and, for a float, the value) at ``pos`` lies within ``buf[:end]``."""
    if pos >= end:
        return False
    b = buf[pos]
    major = b >> 5
    info = b & 31
    if major == 7:
        size = 1 + (2 if info == 25 else 4 if info == 26 else 8 if info == 27 else 0)
    else:
        size = 1 + (1 if info == 24 else 2 if info == 25 else 4 if info == 26 else 8 if info == 27 else 0)
    return pos + size <= end


def decode(data) -> object:
    """The CBOR item in ``data`` (bytes or a memory map): dicts, lists, str, int, float, and NumPy arrays
    for arrays of numbers: float32, and uint32 for integers (int64 if one of the item's arrays of integers
    holds one past 32 bits).

    A memory map's pages are let go once the numbers are read (only the item's few texts are read again):
    a tree's map and its numbers side by side were most of the conversion's peak (#19)."""
    buf = np.frombuffer(data, dtype=np.uint8)
    none_i = np.zeros(1, dtype=np.int64)
    largest = np.zeros(1, dtype=np.int64)
    none_f = np.zeros(1, dtype=np.float32)
    none_k = np.zeros(1, dtype=np.int8)
    n_tok, n_int, n_flt = scan(buf, False, none_k, none_i, none_i, largest, none_f)
    if n_tok < 0:
        raise ValueError(f"unsupported CBOR at byte {n_int}")
    kinds = np.zeros(n_tok, dtype=np.int8)
    args = np.zeros(n_tok, dtype=np.int64)
    extra = np.zeros(n_tok, dtype=np.int64)
    # omikuji's indices are 32-bit: half the memory of int64 (14 million integers in a 73 MB tree)
    ints = np.zeros(max(n_int, 1), dtype=np.uint32 if largest[0] <= np.iinfo(np.uint32).max else np.int64)
    floats32 = np.zeros(max(n_flt, 1), dtype=np.float32)  # omikuji's numbers are float32 (or half) exactly
    scan(buf, True, kinds, args, extra, ints, floats32)
    _let_go(data)
    kinds_l, args_l, extra_l = kinds.tolist(), args.tolist(), extra.tolist()
    position = 0

    def item():
        nonlocal position
        k, a, e = kinds_l[position], args_l[position], extra_l[position]
        position += 1
        if k == _UINT:
            return a
        if k == _NEGINT:
            return -1 - a
        if k == _TEXT:
            return bytes(buf[a:a + e]).decode("utf-8")
        if k == _FLOAT:
            return float(floats32[a])
        if k == _INTS:
            return ints[a:a + e]
        if k == _FLOATS:
            return floats32[a:a + e]
        if k == _BOOL:
            return bool(a)
        if k == _NULL:
            return None
        if k == _ARRAY:
            return [item() for _ in range(a)]
        if k == _MAP:
            out = {}
            for _ in range(a):
                key = item()
                out[key] = item()
            return out
        raise ValueError("unsupported CBOR token")

    value = item()
    if position != n_tok:
        raise ValueError("trailing CBOR data")
    return value


def _let_go(data) -> None:
    """The resident pages of a memory map dropped (they are read from the file again if touched); nothing for
    bytes."""
    import mmap

    advise = getattr(data, "madvise", None)
    if advise is not None and hasattr(mmap, "MADV_DONTNEED"):
        try:
            advise(mmap.MADV_DONTNEED)
        except (OSError, ValueError):
            pass
