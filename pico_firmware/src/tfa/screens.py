"""What the panel shows: boot, Wi-Fi, main (address, clock, counts), log and certificate screens.

Each screen is a function of a display and plain data, so the host renders the same pixels
the board does. Text is mostly at scale 2 (16 px), readable on a 2-inch 320x240 panel.
"""

from micropython import const

from tfa.display import AMBER, BLACK, BLUE, DARK, GREEN, GREY, NAVY, RED, WHITE

_HEADER = const(28)
_FOOTER = const(18)
_MARGIN = const(6)

# audit outcome -> (short label, pen) for the log screen
_OUTCOMES = {
    "challenge_issued": ("PW ok", GREEN),
    "success": ("2FA ok", GREEN),
    "invalid_credentials": ("PW bad", RED),
    "invalid_code": ("CODE x", RED),
    "invalid_challenge": ("CHAL x", RED),
    "invalid_request": ("BADREQ", GREY),
    "clock_not_synced": ("NO NTP", AMBER),
    "locked": ("LOCKED", AMBER),
    "revoked": ("LOGOUT", BLUE),
}


def hms(t):
    t = int(t) % 86400
    return "%02d:%02d:%02d" % (t // 3600, t // 60 % 60, t % 60)


def ymd(t):
    """Civil date of Unix seconds, computed (the port's gmtime epoch may be 2000)."""
    z = int(t) // 86400 + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    y = yoe + era * 400 + (1 if m <= 2 else 0)
    return "%04d-%02d-%02d" % (y, m, d)


def fit(d, s, width, scale):
    """The largest scale up to `scale` at which s fits width; s cut short if even 1 is too wide."""
    while scale > 1 and d.measure(s, scale) > width:
        scale -= 1
    while len(s) > 1 and d.measure(s, scale) > width:
        s = s[:-2] + "~"
    return s, scale


def _text(d, s, x, y, pen, scale, width=None):
    if width is None:
        width = d.width - x - _MARGIN
    s, scale = fit(d, str(s), width, scale)
    d.text(s, x, y, pen, scale)
    return scale


def _centre(d, s, y, pen, scale):
    s, scale = fit(d, str(s), d.width - 2 * _MARGIN, scale)
    d.text(s, (d.width - d.measure(s, scale)) // 2, y, pen, scale)


def _frame(d, title, page, right="", right_pen=WHITE):
    d.clear(BLACK)
    d.rect(0, 0, d.width, _HEADER, NAVY)
    room = d.width - 2 * _MARGIN
    if right:
        w = d.measure(right, 2)
        d.text(right, d.width - w - _MARGIN, 6, right_pen, 2)
        room -= w + _MARGIN
    _text(d, title, _MARGIN, 6, WHITE, 2, room)
    y = d.height - _FOOTER
    d.line(0, y, d.width - 1, y, DARK)
    d.text("A:prev B:next X:home Y:dim", _MARGIN, y + 5, GREY, 1)
    if page:
        d.text(page, d.width - d.measure(page, 1) - _MARGIN, y + 5, GREY, 1)


def boot(d, info, message="starting"):
    d.clear(BLACK)
    d.rect(0, 0, d.width, 6, NAVY)
    _centre(d, "pico-tfa", 44, WHITE, 4)
    _centre(d, "two-factor login", 92, BLUE, 2)
    _centre(d, info.get("hostname", ""), 124, GREY, 2)
    _centre(d, "version " + str(info.get("version", "?")), 150, GREY, 1)
    _centre(d, message, 184, AMBER, 2)
    d.rect(0, d.height - 6, d.width, 6, NAVY)


def wifi(d, status, page=""):
    state = status.get("state", "down")
    pen = GREEN if state == "up" else (AMBER if state == "connecting" else RED)
    _frame(d, "Wi-Fi", page)
    y = _HEADER + 10
    d.text("network", _MARGIN, y, GREY, 1)
    _text(d, status.get("ssid") or "-", _MARGIN, y + 12, WHITE, 2)
    y += 40
    _text(d, state.upper(), _MARGIN, y, pen, 3)
    y += 36
    d.text("address", _MARGIN, y, GREY, 1)
    _text(d, status.get("ip") or "-", _MARGIN, y + 12, WHITE, 2)
    y += 40
    _text(d, "attempts %d" % status.get("attempts", 0), _MARGIN, y, GREY, 2)
    if state == "up":
        return
    if status.get("reason"):
        y += 22
        _text(d, status["reason"], _MARGIN, y, RED, 2)
    if status.get("retry_in") is not None:
        _text(d, "retry in %ds" % status["retry_in"], _MARGIN, y + 22, GREY, 2)


def main(d, stats, info, page=""):
    synced = bool(stats.get("synced"))
    now = stats.get("time") or 0
    _frame(d, info.get("name", "pico-tfa"), page, hms(now), GREEN if synced else RED)
    y = _HEADER + 6
    _text(d, stats.get("url") or info.get("url") or "-", _MARGIN, y, WHITE, 2)
    y += 22
    _text(d, stats.get("ip") or "no address", _MARGIN, y, BLUE, 2)
    y += 22
    if synced:
        _text(d, ymd(now) + " UTC  clock synced", _MARGIN, y, GREEN, 1)
    else:
        _text(d, "clock NOT synced: verify answers 503", _MARGIN, y, RED, 1)
    y += 14
    w = (d.width - 3 * _MARGIN) // 2
    h = (d.height - _FOOTER - _MARGIN - y - _MARGIN) // 2
    tiles = (
        ("logins ok", stats.get("logins_ok", 0), GREEN),
        ("logins failed", stats.get("logins_failed", 0), RED),
        ("accounts locked", stats.get("locked", 0), AMBER),
        ("sessions active", stats.get("sessions", 0), BLUE),
    )
    for i, (label, value, pen) in enumerate(tiles):
        x = _MARGIN + (i % 2) * (w + _MARGIN)
        ty = y + (i // 2) * (h + _MARGIN)
        d.rect(x, ty, w, h, DARK)
        d.text(label, x + 6, ty + 5, GREY, 1)
        _text(d, str(value), x + 6, ty + 17, pen, 4, w - 12)


def log(d, events, page="", rows=8):
    _frame(d, "Log", page)
    y = _HEADER + 6
    if not events:
        _text(d, "no events yet", _MARGIN, y + 8, GREY, 2)
        return
    for e in events[-rows:]:
        label, pen = _OUTCOMES.get(e.get("outcome"), ("?", GREY))
        user = str(e.get("username") or "-")
        if len(user) > 6:
            user = user[:4] + "~" + user[-1]  # keeps "conformance-1" and "-2" apart
        line = "%s %-6s %s" % (hms(e.get("time") or 0)[:5], user, label)
        _text(d, line, _MARGIN, y, pen, 2)
        y += 22


def cert(d, info, page=""):
    _frame(d, "Certificate", page)
    y = _HEADER + 8
    _text(d, "SHA-256 fingerprint (pin in clients)", _MARGIN, y, GREY, 1)
    y += 16
    fp = (info.get("cert_sha256") or "").upper()
    if not fp:
        _text(d, "no TLS (plain HTTP)", _MARGIN, y, AMBER, 2)
        return
    for i in range(0, len(fp), 16):
        part = fp[i : i + 16]
        line = " ".join(part[j : j + 4] for j in range(0, len(part), 4))
        _text(d, line, _MARGIN, y, WHITE, 2)
        y += 24
    y += 4
    _text(d, info.get("hostname", ""), _MARGIN, y, BLUE, 2)
