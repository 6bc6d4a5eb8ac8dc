"""`import_origin_log`: nginx combined logs -> minute samples, added, each file once."""

import datetime as dt
import gzip
import hashlib
import io
import random
from collections import Counter, defaultdict

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from cdnorigin.log_import import MAX_LINE, AlreadyImported, UnreadableLog, aggregate_file, parse_line
from cdnorigin.models import Domain, ImportedLog, OriginSample

UTC = dt.UTC
OFFSETS = [dt.timedelta(hours=8), dt.timedelta(hours=-7), dt.timedelta(0), dt.timedelta(hours=5, minutes=30)]
CODES = [200, 200, 200, 200, 206, 301, 304, 404, 499, 500, 502]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def time_local(instant: dt.datetime, offset: dt.timedelta) -> str:
    """nginx's $time_local, written by hand (not with strftime, whose %b follows the locale)."""
    local = instant.astimezone(dt.timezone(offset))
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return (
        f"{local.day:02d}/{MONTHS[local.month - 1]}/{local.year:04d}:"
        f"{local.hour:02d}:{local.minute:02d}:{local.second:02d} {sign}{hours:02d}{mins:02d}"
    )


def log_line(instant, offset, status, sent, path="/index.html") -> str:
    return (
        f'203.0.113.{random.randint(1, 254)} - - [{time_local(instant, offset)}] "GET {path} HTTP/1.1" '
        f'{status} {sent} "https://ref.example.com/" "Mozilla/5.0 (X11; Linux x86_64) curl/8.5"\n'
    )


MALFORMED = [
    "this is not a log line\n",
    '203.0.113.9 - - [10/Oct/2023:13:55:36 +0800] "GET / HTTP/1.1" 700 12 "-" "ua"\n',
    '203.0.113.9 - - [32/Oct/2023:13:55:36 +0800] "GET / HTTP/1.1" 200 12 "-" "ua"\n',
    "\n",
    '203.0.113.9 - - [10/Oct/2023:13:55:36 +0800] "GET / HTTP/1.1" 200\n',
]


def realistic_log(seed: int, start: dt.datetime, lines: int = 300, minutes: int = 5):
    """A log (text) and, counted independently from what was written, the expected samples and bad lines."""
    rng = random.Random(seed)
    random.seed(seed)
    expected = defaultdict(lambda: [0, 0, Counter()])
    text, bad = [], []
    malformed_at = set(rng.sample(range(lines), len(MALFORMED)))
    malformed = iter(MALFORMED)
    for index in range(lines):
        if index in malformed_at:
            text.append(next(malformed))
            bad.append(index + 1)
            continue
        instant = start + dt.timedelta(seconds=rng.randrange(minutes * 60))
        status = rng.choice(CODES)
        sent = rng.choice(["-", 0, rng.randrange(1, 50_000), rng.randrange(10**6, 10**9)])
        text.append(log_line(instant, rng.choice(OFFSETS), status, sent))
        entry = expected[instant.replace(second=0)]
        entry[0] += 0 if sent == "-" else sent
        entry[1] += 1
        entry[2][status] += 1
    return "".join(text), {minute: (f, p, dict(c)) for minute, (f, p, c) in expected.items()}, bad


def stored_samples(domain) -> dict:
    samples = {}
    for sample in OriginSample.objects.filter(domain=domain).order_by("minute"):
        codes = {int(code): count for code, count in sample.status.items()}
        assert sample.status_2xx == sum(n for code, n in codes.items() if code // 100 == 2)
        samples[sample.minute.astimezone(UTC)] = (sample.flux, sample.pv, codes)
    return samples


def add(*totals) -> dict:
    result = defaultdict(lambda: [0, 0, Counter()])
    for total in totals:
        for minute, (flux, pv, codes) in total.items():
            result[minute][0] += flux
            result[minute][1] += pv
            result[minute][2].update(codes)
    return {minute: (f, p, dict(c)) for minute, (f, p, c) in result.items()}


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_origin_log", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


START = dt.datetime(2024, 5, 1, 23, 58, 10, tzinfo=UTC)  # crosses midnight in UTC and a day in +08:00


# --- parsing -------------------------------------------------------------------------------------------


def test_the_nginx_documentation_example_parses_to_its_utc_minute():
    line = (
        '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 '
        '"http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"'
    )
    parsed = parse_line(line)
    assert parsed.minute == dt.datetime(2000, 10, 10, 20, 55, tzinfo=UTC)
    assert (parsed.status, parsed.body_bytes) == (200, 2326)


def test_a_dash_for_body_bytes_counts_as_zero_and_escaped_quotes_are_allowed():
    line = r'::1 - - [01/Jan/2024:00:00:59 +0000] "GET /a\"b HTTP/1.1" 304 - "-" "ua \"x\""'
    assert parse_line(line) == (dt.datetime(2024, 1, 1, 0, 0, tzinfo=UTC), 304, 0)


def test_fields_appended_after_the_user_agent_are_ignored():
    line = '1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ua" 0.003 "-"\r\n'
    assert parse_line(line).body_bytes == 5


def test_the_local_date_may_differ_from_the_utc_one():
    line = '1.2.3.4 - - [01/Jan/2100:07:59:59 +0800] "GET / HTTP/1.1" 200 5 "-" "ua"'
    assert parse_line(line).minute == dt.datetime(2099, 12, 31, 23, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    "line",
    [
        "",
        "garbage",
        '1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1" 600 5 "-" "ua"',
        '1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1" 099 5 "-" "ua"',
        '1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1" 2000 5 "-" "ua"',
        '1.2.3.4 - - [01/Foo/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ua"',
        '1.2.3.4 - - [30/Feb/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ua"',
        '1.2.3.4 - - [01/Jan/2024:24:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ua"',
        '1.2.3.4 - - [01/Jan/2024:00:60:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ua"',
        '1.2.3.4 - - [01/Jan/2024:00:00:61 +0000] "GET / HTTP/1.1" 200 5 "-" "ua"',
        '1.2.3.4 - - [01/Jan/2024:00:00:00 +2400] "GET / HTTP/1.1" 200 5 "-" "ua"',
        '1.2.3.4 - - [01/Jan/2024:00:00:00] "GET / HTTP/1.1" 200 5 "-" "ua"',
        '1.2.3.4 - - [2024-01-01T00:00:00+00:00] "GET / HTTP/1.1" 200 5 "-" "ua"',
        '1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 -5 "-" "ua"',
        '1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 5 "-"',
        '1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1 200 5 "-" "ua"',
        '1.2.3.4 - - [31/Dec/1969:23:59:59 +0000] "GET / HTTP/1.1" 200 5 "-" "ua"',  # before samples may start
        '1.2.3.4 - - [01/Jan/2100:08:00:00 +0800] "GET / HTTP/1.1" 200 5 "-" "ua"',  # 2100 UTC: after they end
        '1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 281474976710656 "-" "ua"',  # > 2**48 - 1
    ],
)
def test_malformed_lines_parse_to_none(line):
    assert parse_line(line) is None


@settings(max_examples=60, deadline=None)
@given(
    instant=st.datetimes(
        min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2099, 12, 31), timezones=st.just(UTC)
    ),
    offset_minutes=st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59),
    status=st.integers(min_value=100, max_value=599),
    sent=st.one_of(st.just("-"), st.integers(min_value=0, max_value=10**12)),
)
def test_any_valid_line_parses_to_the_utc_minute_strptime_finds(instant, offset_minutes, status, sent):
    line = log_line(instant, dt.timedelta(minutes=offset_minutes), status, sent)
    stamp = line[line.index("[") + 1 : line.index("]")]
    reference = dt.datetime.strptime(stamp, "%d/%b/%Y:%H:%M:%S %z").astimezone(UTC).replace(second=0)
    assert parse_line(line) == (reference, status, 0 if sent == "-" else sent)


# --- aggregation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("compressed", [False, True])
def test_a_file_aggregates_to_an_independent_count(tmp_path, compressed):
    text, expected, bad = realistic_log(seed=7, start=START)
    path = tmp_path / "access.log"
    raw = text.encode()
    path.write_bytes(gzip.compress(raw) if compressed else raw)
    read = []
    aggregate = aggregate_file(path, progress=read.append)
    assert aggregate.per_minute == expected
    assert all(minute.tzinfo is not None and minute.utcoffset() == dt.timedelta(0) for minute in aggregate.per_minute)
    assert aggregate.lines == 300
    assert aggregate.skipped == len(MALFORMED)
    assert aggregate.bad_line_numbers == bad
    assert aggregate.sha256 == hashlib.sha256(raw).hexdigest()  # the content's hash, compressed or not
    assert sum(read) == path.stat().st_size


def test_an_overlong_line_is_one_malformed_line_and_the_next_line_still_counts(tmp_path):
    good = log_line(START, dt.timedelta(0), 200, 10)
    path = tmp_path / "long.log"
    path.write_bytes(good.encode() + b"x" * (3 * MAX_LINE + 5) + b"\n" + good.encode())
    aggregate = aggregate_file(path)
    assert (aggregate.lines, aggregate.skipped, aggregate.bad_line_numbers) == (3, 1, [2])
    assert aggregate.per_minute == {START.replace(second=0): (20, 2, {200: 2})}
    assert aggregate.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_only_the_first_few_bad_line_numbers_are_kept(tmp_path):
    path = tmp_path / "junk.log"
    path.write_text("junk\n" * 50)
    aggregate = aggregate_file(path)
    assert aggregate.skipped == 50
    assert aggregate.bad_line_numbers == list(range(1, 11))
    assert aggregate.per_minute == {}


def test_a_truncated_gzip_file_is_unreadable(tmp_path):
    text, _, _ = realistic_log(seed=3, start=START)
    path = tmp_path / "cut.log.gz"
    path.write_bytes(gzip.compress(text.encode())[:-40])
    with pytest.raises(UnreadableLog):
        aggregate_file(path)


# --- the command ---------------------------------------------------------------------------------------


@pytest.fixture
def domain(db):
    return Domain.objects.create(name="origin.example.com")


def test_import_stores_the_independent_count_and_records_the_file(tmp_path, domain):
    text, expected, bad = realistic_log(seed=11, start=START)
    path = tmp_path / "access.log"
    path.write_text(text)
    out, err = run("--domain", "Origin.Example.com", str(path))
    assert stored_samples(domain) == expected
    log = ImportedLog.objects.get()
    assert (log.domain, log.lines, log.samples, log.skipped) == (domain, 300, len(expected), len(MALFORMED))
    assert log.sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert f"lines {', '.join(map(str, bad))}" in out
    assert f"{len(expected)} minute sample(s) touched" in out and "Imported 1 file(s)" in out
    assert "access.log" in err  # the progress bar


def test_importing_adds_to_samples_already_stored(tmp_path, domain):
    first_text, first, _ = realistic_log(seed=21, start=START)
    second_text, second, _ = realistic_log(seed=22, start=START + dt.timedelta(minutes=2))
    existing_minute = START.replace(second=0) + dt.timedelta(minutes=1)
    OriginSample.objects.create(domain=domain, minute=existing_minute, flux=1000, pv=7, status={200: 5, 418: 2})
    (tmp_path / "one.log").write_text(first_text)
    (tmp_path / "two.log.gz").write_bytes(gzip.compress(second_text.encode()))
    run("--domain", domain.name, str(tmp_path / "one.log"), str(tmp_path / "two.log.gz"))
    assert stored_samples(domain) == add(first, second, {existing_minute: (1000, 7, {200: 5, 418: 2})})
    assert ImportedLog.objects.count() == 2


def test_the_same_content_again_is_refused_and_changes_nothing(tmp_path, domain):
    text, expected, _ = realistic_log(seed=31, start=START)
    plain, packed = tmp_path / "access.log", tmp_path / "access.log.1.gz"
    plain.write_text(text)
    packed.write_bytes(gzip.compress(text.encode()))
    run("--domain", domain.name, str(plain))
    for path in (plain, packed):
        err = io.StringIO()
        with pytest.raises(CommandError):
            call_command("import_origin_log", "--domain", domain.name, str(path), stdout=io.StringIO(), stderr=err)
        assert f"Refused {path}: already imported" in err.getvalue()
    assert stored_samples(domain) == expected
    assert ImportedLog.objects.count() == 1


def test_a_refused_file_does_not_stop_the_others_but_the_command_fails(tmp_path, domain):
    old_text, old, _ = realistic_log(seed=41, start=START)
    new_text, new, _ = realistic_log(seed=42, start=START)
    (tmp_path / "old.log").write_text(old_text)
    (tmp_path / "new.log").write_text(new_text)
    run("--domain", domain.name, str(tmp_path / "old.log"))
    with pytest.raises(CommandError) as excinfo:
        run("--domain", domain.name, str(tmp_path / "old.log"), str(tmp_path / "new.log"))
    assert "1 of 2" in str(excinfo.value)
    assert stored_samples(domain) == add(old, new)


def test_an_unreadable_gzip_adds_nothing(tmp_path, domain):
    text, _, _ = realistic_log(seed=51, start=START)
    path = tmp_path / "cut.log.gz"
    path.write_bytes(gzip.compress(text.encode())[:-40])
    with pytest.raises(CommandError):
        run("--domain", domain.name, str(path))
    assert not OriginSample.objects.exists()
    assert not ImportedLog.objects.exists()


def test_an_unknown_domain_or_missing_file_is_an_error_and_imports_nothing(tmp_path, domain):
    text, _, _ = realistic_log(seed=61, start=START)
    path = tmp_path / "access.log"
    path.write_text(text)
    with pytest.raises(CommandError, match="nope.example.com"):
        run("--domain", "nope.example.com", str(path))
    with pytest.raises(CommandError, match="missing.log"):
        run("--domain", domain.name, str(path), str(tmp_path / "missing.log"))
    assert not OriginSample.objects.exists()
    assert not ImportedLog.objects.exists()


def test_a_file_of_only_malformed_lines_is_recorded_and_adds_nothing(tmp_path, domain):
    path = tmp_path / "junk.log"
    path.write_text("junk\n" * 5)
    out, _ = run("--domain", domain.name, str(path))
    assert "5 malformed line(s) skipped" in out
    assert not OriginSample.objects.exists()
    assert ImportedLog.objects.get().skipped == 5
    with pytest.raises(CommandError, match="1 of 1 file"):
        run("--domain", domain.name, str(path))


def test_a_minute_whose_sum_a_sample_cannot_hold_refuses_the_file(tmp_path, domain):
    path = tmp_path / "huge.log"
    path.write_text(log_line(START, dt.timedelta(0), 200, 2**48 - 1) * 2 + log_line(START, dt.timedelta(0), 200, 1))
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_origin_log", "--domain", domain.name, str(path), stdout=io.StringIO(), stderr=err)
    assert f"Refused {path}:" in err.getvalue()
    assert not OriginSample.objects.exists()
    assert not ImportedLog.objects.exists()


def test_import_log_file_raises_already_imported_for_known_content(tmp_path, domain):
    from cdnorigin.log_import import import_log_file

    path = tmp_path / "a.log"
    path.write_text(log_line(START, dt.timedelta(0), 200, 1))
    import_log_file(domain, path)
    with pytest.raises(AlreadyImported):
        import_log_file(domain, path)
