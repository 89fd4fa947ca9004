"""Kubernetes resource quantities (`500m`, `8Gi`, `1e3`): the grammar, the errors and the canonical form of
k8s.io/apimachinery's resource.Quantity, so the emulator refuses and prints quantities as kube-apiserver does."""

import json
from fractions import Fraction

PATTERN = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
FORMAT_WRONG = f"quantities must match the regular expression '{PATTERN}'"
BAD_NUMBER = "unable to parse numeric part of quantity"
BAD_SUFFIX = "unable to parse quantity's suffix"

_SUFFIX_CHARS = frozenset("eEinumkKMGTP")
_DIGITS = frozenset("0123456789")
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX = {exponent: suffix for suffix, exponent in _DECIMAL.items()}
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_BINARY_SUFFIX = {exponent // 10: suffix for suffix, exponent in _BINARY.items()}
NANO = 10 ** 9


class QuantityError(ValueError):
    """A value resource.Quantity does not parse; str() is apimachinery's message."""


class Quantity:
    """A parsed quantity: its exact value (rounded up to the nano, as ParseQuantity does) and its format."""

    def __init__(self, value, fmt):
        self.value, self.format = value, fmt

    def __str__(self):
        return canonical(self.value, self.format)


def _run(text, pos, chars):
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def _split(text):
    """(sign, whole digits, fraction digits, suffix) the way parseQuantityString scans them."""
    pos = 1 if text[:1] in ("+", "-") else 0
    sign = -1 if text[:1] == "-" else 1
    end = _run(text, pos, _DIGITS)
    whole, fraction = text[pos:end], ""
    if end < len(text) and text[end] == ".":
        start = end + 1
        end = _run(text, start, _DIGITS)
        fraction = text[start:end]
    suffix_start = end
    end = _run(text, end, _SUFFIX_CHARS)
    if end < len(text) and text[end] in ("+", "-"):
        end += 1
    end = _run(text, end, _DIGITS)
    if end < len(text):
        raise QuantityError(FORMAT_WRONG)
    return sign, whole, fraction, text[suffix_start:]


def _scale(suffix):
    """(base, exponent, format) of a suffix, as quantitySuffixer.interpret reads it."""
    if suffix in _DECIMAL:
        return 10, _DECIMAL[suffix], "DecimalSI"
    if suffix in _BINARY:
        return 2, _BINARY[suffix], "BinarySI"
    if len(suffix) > 1 and suffix[0] in "eE":
        try:
            return 10, int(suffix[1:]), "DecimalExponent"
        except ValueError:
            pass
    raise QuantityError(BAD_SUFFIX)


def parse(text):
    """ParseQuantity: a Quantity, or QuantityError with apimachinery's message."""
    if not text:
        raise QuantityError(FORMAT_WRONG)
    if text[1 if text[0] in "+-" else 0:].strip("0") == "":  # a sign and zeros, or nothing, is zero
        return Quantity(Fraction(0), "DecimalSI")
    sign, whole, fraction, suffix = _split(text)
    base, exponent, fmt = _scale(suffix)
    if not whole and not fraction:
        raise QuantityError(BAD_NUMBER)
    number = Fraction(int(whole or "0")) + (Fraction(int(fraction), 10 ** len(fraction)) if fraction else 0)
    value = sign * number * Fraction(base) ** exponent
    nanos = value * NANO
    if nanos.denominator != 1:  # rounded away from zero, so a tiny request still asks for something
        whole_nanos = -(-abs(nanos.numerator) // nanos.denominator)
        value = Fraction(sign * whole_nanos, NANO)
    return Quantity(value, fmt)


def from_json(value):
    """The Quantity a JSON value decodes to (Quantity.UnmarshalJSON: strings, numbers, null), or QuantityError."""
    if value is None:
        return Quantity(Fraction(0), "DecimalSI")
    text = value if isinstance(value, str) else json.dumps(value)
    return parse(text.strip())


def _strip_factors(number, factor):
    count = 0
    while number and number % factor == 0:
        number //= factor
        count += 1
    return number, count


def canonical(value, fmt):
    """Quantity.String(): the largest suffix that keeps the number whole; binary only for whole values of 1024 or more."""
    if value == 0:
        return "0"
    if fmt == "BinarySI" and (abs(value) < 1024 or value.denominator != 1):
        fmt = "DecimalSI"
    if fmt == "BinarySI":
        number, power = _strip_factors(int(value), 1024)
        return f"{number}{_BINARY_SUFFIX.get(power, '')}"
    number, exponent = _strip_factors(int(value * NANO), 10)
    exponent -= 9
    shift = exponent % 3
    number, exponent = number * 10 ** shift, exponent - shift
    if fmt == "DecimalSI" and exponent in _DECIMAL_SUFFIX:
        return f"{number}{_DECIMAL_SUFFIX[exponent]}"
    return f"{number}e{exponent}" if exponent else str(number)
