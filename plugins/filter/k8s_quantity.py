# -*- coding: utf-8 -*-
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: k8s_quantity
short_description: A Kubernetes resource quantity in the form the API server stores, or none when it is not one
version_added: 1.0.0
description:
  - Parses a quantity such as V(500m), V(8Gi) or V(1e3) as the API server does and returns it as the API server prints
    it (V(1000m) becomes V(1)), or V(None) when the API server would refuse it (V(1 GB), V(8gb), an empty string).
  - The roles' preflights use it to check quantities before any write; P(mlplatform.selfhosted.k8s_patch_changes#filter)
    uses it to compare a desired quantity with the stored one.
options:
  _input:
    description: The quantity, a string or a number.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Fail when a memory request is not a quantity
  ansible.builtin.assert:
    that: memory | mlplatform.selfhosted.k8s_quantity is not none
"""

RETURN = r"""
_value:
  description: The canonical quantity, or V(None).
  type: str
"""

import re
from fractions import Fraction

_FORMAT = re.compile(r"^([+-]?)([0-9]*)(?:\.([0-9]*))?([a-zA-Z]*[-+]?[0-9]*)$")
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_NANO = 10 ** 9


def parse(value):
    """(exact value rounded up to the nano, format) of a quantity, or None when the API server refuses it."""
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip() if isinstance(value, (int, float)) else value
    if not isinstance(text, str):
        return None
    match = _FORMAT.match(text)
    if not match or not (match.group(2) or match.group(3)):
        return None
    sign, whole, fraction, suffix = match.groups()
    if suffix in _DECIMAL:
        base, exponent, fmt = 10, _DECIMAL[suffix], "DecimalSI"
    elif suffix in _BINARY:
        base, exponent, fmt = 1024, _BINARY[suffix], "BinarySI"
    elif re.match(r"^[eE][-+]?[0-9]+$", suffix):
        base, exponent, fmt = 10, int(suffix[1:]), "DecimalExponent"
    else:
        return None
    number = Fraction(int(whole or "0")) + (Fraction(int(fraction), 10 ** len(fraction)) if fraction else 0)
    nanos = number * Fraction(base) ** exponent * _NANO
    nanos = -(-nanos.numerator // nanos.denominator)  # rounded up, as the API server rounds a tiny request
    return Fraction(-nanos if sign == "-" else nanos, _NANO), fmt


def _strip(number, factor):
    count = 0
    while number and number % factor == 0:
        number //= factor
        count += 1
    return number, count


def canonical(value):
    """The quantity as the API server prints it, or None when it is not one."""
    parsed = parse(value)
    if parsed is None:
        return None
    number, fmt = parsed
    if number == 0:
        return "0"
    if fmt == "BinarySI" and (abs(number) < 1024 or number.denominator != 1):
        fmt = "DecimalSI"
    if fmt == "BinarySI":
        whole, power = _strip(int(number), 1024)
        return "%d%s" % (whole, {v: k for k, v in _BINARY.items()}.get(power, ""))
    whole, exponent = _strip(int(number * _NANO), 10)
    exponent -= 9
    shift = exponent % 3
    whole, exponent = whole * 10 ** shift, exponent - shift
    suffixes = {v: k for k, v in _DECIMAL.items()}
    if fmt == "DecimalSI" and exponent in suffixes:
        return "%d%s" % (whole, suffixes[exponent])
    return "%de%d" % (whole, exponent) if exponent else str(whole)


class FilterModule:
    def filters(self):
        return {"k8s_quantity": canonical}
