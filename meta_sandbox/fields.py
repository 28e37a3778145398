"""Graph `fields=` parsing: "id,name,instagram_business_account{id,username},messages.limit(5){id}"."""


def parse_fields(text):
    """Return {name: subfields-dict-or-None}; modifiers like .limit(5) are dropped."""
    fields, _ = _parse(text or "", 0)
    return fields


def _parse(text, i):
    out = {}
    name = ""
    while i < len(text):
        ch = text[i]
        if ch == "{":
            sub, i = _parse(text, i + 1)
            out[_clean(name)] = sub
            name = ""
            continue
        if ch == "}":
            if name.strip():
                out.setdefault(_clean(name), None)
            return out, i + 1
        if ch == ",":
            if name.strip():
                out.setdefault(_clean(name), None)
            name = ""
        elif ch == "(":
            depth = 1
            i += 1
            while i < len(text) and depth:
                depth += {"(": 1, ")": -1}.get(text[i], 0)
                i += 1
            continue
        else:
            name += ch
        i += 1
    if name.strip():
        out.setdefault(_clean(name), None)
    return out, i


def _clean(name):
    return name.strip().split(".")[0]
