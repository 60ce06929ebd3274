#!/usr/bin/env python3
"""Checks our TensorBoard event files with TensorBoard's own readers.

Usage:
    java -cp target/classes org.lorascripts.io.tensorboard.EventFileDemo /tmp/tb
    python3 tools/check_tensorboard_events.py /tmp/tb /tmp/tb/expected.json

Needs the `tensorboard` Python package (and numpy, which it pulls in). EXPECTED.json lists
    "scalars": [{"tag", "step", "value"}]        value null means NaN
    "images":  [{"tag", "step", "width", "height", "colorspace", "channels", "pixels_sha256"}]
    "texts":   [{"tag", "step", "text"}]
    "metrics_jsonl": {"file", "lines"}           optional
and every entry must be found, in order per tag, with nothing extra for the listed tags. Three
readers are used: the raw event loader (file_version header, image colorspace), the legacy
EventAccumulator (scalars, images, tensors as stored), and the plugin EventAccumulator that the
TensorBoard server itself runs (checks each tag lands in the scalars / images / text dashboard).
PNGs are decoded with a small standard-library decoder (CRCs, zlib, all five row filters).
Exit status: 0 all matched, 1 a mismatch, 2 bad usage or tensorboard missing.
"""
import collections
import hashlib
import json
import math
import os
import struct
import sys
import zlib

TOLERANCE = 1e-6


def decode_png(data):
    """Returns (width, height, channels, pixel bytes) of an 8-bit non-palette, non-interlaced PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("bad PNG signature")
    pos, idat, ihdr = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if zlib.crc32(kind + body) != crc:
            raise ValueError("CRC mismatch in PNG chunk %r" % kind)
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    if ihdr is None:
        raise ValueError("no IHDR chunk")
    width, height, depth, color_type, _, _, interlace = ihdr
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(color_type)
    if depth != 8 or channels is None or interlace != 0:
        raise ValueError("unsupported PNG: depth %d colour type %d interlace %d" % (depth, color_type, interlace))
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    if len(raw) != height * (stride + 1):
        raise ValueError("PNG data is %d bytes, expected %d" % (len(raw), height * (stride + 1)))
    out = bytearray()
    prev = bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        row = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = row[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if ftype == 0:
                pred = 0
            elif ftype == 1:
                pred = a
            elif ftype == 2:
                pred = b
            elif ftype == 3:
                pred = (a + b) // 2
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            else:
                raise ValueError("bad PNG filter type %d" % ftype)
            row[i] = (row[i] + pred) & 0xFF
        out += row
        prev = row
    return width, height, channels, bytes(out)


class Checker:
    def __init__(self):
        self.failures = []
        self.passed = collections.Counter()

    def expect(self, cond, what, kind):
        if cond:
            self.passed[kind] += 1
        else:
            self.failures.append(what)
            print("FAIL:", what)


def close(a, b):
    if b is None or (isinstance(b, float) and math.isnan(b)):
        return math.isnan(a)
    return abs(a - b) <= TOLERANCE * max(1.0, abs(b))


def group(entries):
    by_tag = collections.OrderedDict()
    for e in entries:
        by_tag.setdefault(e["tag"], []).append(e)
    return by_tag


def main(argv):
    if len(argv) != 3:
        print("usage: check_tensorboard_events.py LOGDIR EXPECTED.json")
        return 2
    logdir, expected_path = argv[1], argv[2]
    try:
        from tensorboard.backend.event_processing import event_accumulator
        from tensorboard.backend.event_processing import event_file_loader
        from tensorboard.backend.event_processing import plugin_event_accumulator
        from tensorboard.util import tensor_util
    except ImportError as e:
        print("tensorboard is not installed (%s); pip install tensorboard" % e)
        return 2
    with open(expected_path, encoding="utf-8") as f:
        expected = json.load(f)
    ck = Checker()

    # 1. Raw records: header event, and fields the accumulators do not expose (image colorspace).
    files = sorted(n for n in os.listdir(logdir) if "tfevents" in n)
    ck.expect(files, "no event files in %s" % logdir, "files")
    if "event_file" in expected:
        ck.expect(expected["event_file"] in files, "event file %s missing" % expected["event_file"], "files")
    colorspaces = collections.defaultdict(list)
    for name in files:
        events = list(event_file_loader.LegacyEventFileLoader(os.path.join(logdir, name)).Load())
        ck.expect(events and events[0].file_version == "brain.Event:2",
                  "%s: first event is not file_version brain.Event:2" % name, "header")
        for ev in events[1:]:
            for v in ev.summary.value:
                if v.HasField("image"):
                    colorspaces[v.tag].append((ev.step, v.image.colorspace))
        print("read %d events from %s" % (len(events), name))

    acc = event_accumulator.EventAccumulator(logdir, size_guidance={
        event_accumulator.SCALARS: 0, event_accumulator.IMAGES: 0, event_accumulator.TENSORS: 0})
    acc.Reload()
    tags = acc.Tags()

    # 2. Scalars.
    for tag, want in group(expected.get("scalars", [])).items():
        if tag not in tags["scalars"]:
            ck.expect(False, "scalar tag %s missing (have %s)" % (tag, tags["scalars"]), "scalars")
            continue
        got = acc.Scalars(tag)
        ck.expect(len(got) == len(want), "scalar %s: %d events, expected %d" % (tag, len(got), len(want)), "scalars")
        for g, w in zip(got, want):
            ck.expect(g.step == w["step"] and close(g.value, w["value"]),
                      "scalar %s: got (step %d, %r), expected (step %d, %r)" % (tag, g.step, g.value, w["step"], w["value"]),
                      "scalars")

    # 3. Images: size, PNG decodes to the expected pixels, colorspace.
    for tag, want in group(expected.get("images", [])).items():
        if tag not in tags["images"]:
            ck.expect(False, "image tag %s missing (have %s)" % (tag, tags["images"]), "images")
            continue
        got = acc.Images(tag)
        ck.expect(len(got) == len(want), "image %s: %d events, expected %d" % (tag, len(got), len(want)), "images")
        for i, (g, w) in enumerate(zip(got, want)):
            label = "image %s step %d" % (tag, w["step"])
            ck.expect(g.step == w["step"], "%s: got step %d" % (label, g.step), "images")
            ck.expect((g.width, g.height) == (w["width"], w["height"]),
                      "%s: size %dx%d, expected %dx%d" % (label, g.width, g.height, w["width"], w["height"]), "images")
            try:
                pw, ph, pc, pixels = decode_png(g.encoded_image_string)
            except (ValueError, zlib.error) as e:
                ck.expect(False, "%s: PNG does not decode: %s" % (label, e), "images")
                continue
            ck.expect((pw, ph, pc) == (w["width"], w["height"], w["channels"]),
                      "%s: PNG is %dx%d with %d channels" % (label, pw, ph, pc), "images")
            ck.expect(hashlib.sha256(pixels).hexdigest() == w["pixels_sha256"], "%s: pixels differ" % label, "images")
            cs = colorspaces.get(tag, [])
            ck.expect(i < len(cs) and cs[i] == (w["step"], w["colorspace"]),
                      "%s: colorspace %s, expected %d" % (label, cs[i:i + 1], w["colorspace"]), "images")

    # 4. Text: a DT_STRING tensor with "text" plugin metadata.
    for tag, want in group(expected.get("texts", [])).items():
        if tag not in tags["tensors"]:
            ck.expect(False, "text tag %s missing (tensor tags %s)" % (tag, tags["tensors"]), "texts")
            continue
        ck.expect(acc.SummaryMetadata(tag).plugin_data.plugin_name == "text",
                  "text %s: plugin_name is %r" % (tag, acc.SummaryMetadata(tag).plugin_data.plugin_name), "texts")
        got = acc.Tensors(tag)
        ck.expect(len(got) == len(want), "text %s: %d events, expected %d" % (tag, len(got), len(want)), "texts")
        for g, w in zip(got, want):
            arr = tensor_util.make_ndarray(g.tensor_proto)
            text = arr.reshape(-1)[0]
            text = text.decode("utf-8") if isinstance(text, bytes) else str(text)
            ck.expect(g.step == w["step"] and text == w["text"],
                      "text %s: got (step %d, %r), expected (step %d, %r)" % (tag, g.step, text, w["step"], w["text"]),
                      "texts")

    # 5. The server's view: each tag must land in the right dashboard after data_compat migration.
    pacc = plugin_event_accumulator.EventAccumulator(logdir, size_guidance={plugin_event_accumulator.TENSORS: 0})
    pacc.Reload()
    for plugin, section in (("scalars", "scalars"), ("images", "images"), ("text", "texts")):
        have = set(pacc.PluginTagToContent(plugin)) if plugin in pacc.ActivePlugins() else set()
        for tag in group(expected.get(section, [])):
            ck.expect(tag in have, "server view: %s not in the %s dashboard (has %s)" % (tag, plugin, sorted(have)),
                      "dashboards")

    # 6. metrics.jsonl beside the events.
    mj = expected.get("metrics_jsonl")
    if mj:
        path = os.path.join(logdir, mj["file"])
        with open(path, encoding="utf-8") as f:
            lines = [json.loads(line) for line in f if line.strip()]
        ck.expect(len(lines) == mj["lines"], "%s: %d lines, expected %d" % (mj["file"], len(lines), mj["lines"]), "jsonl")
        ck.expect(all("step" in r and "wall_time" in r for r in lines), "%s: a line lacks step/wall_time" % mj["file"], "jsonl")

    print("summary: " + ", ".join("%s %d ok" % (k, n) for k, n in sorted(ck.passed.items()))
          + ("; %d FAILED" % len(ck.failures) if ck.failures else "; all matched"))
    return 1 if ck.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
