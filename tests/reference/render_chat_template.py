#!/usr/bin/python3
"""Reference renderer for Tandem's chat-template tests: Debian's python3-jinja2 configured as
transformers configures it for apply_chat_template.

  ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                extensions=[<generation tag>, jinja2.ext.loopcontrols])
  filters["tojson"] = json.dumps(x, ensure_ascii=False, indent=indent, separators=separators,
                                 sort_keys=sort_keys)
  globals raise_exception (raises TemplateError(message)) and strftime_now (datetime.now().strftime)

The {% generation %} tag is our own extension: it wraps its body's output in two private-use
marker characters, which are removed afterwards to give UTF-8 byte spans.

Usage: render_chat_template.py JOB.json OUT.json
  JOB.json: {"cases": [{"template": str, "context": {...}}, ...]}
  OUT.json: [{"text": str, "spans": [[begin, end], ...]} or {"error": str}, ...]
"""
import json
import sys
from datetime import datetime

import jinja2
from jinja2 import nodes
from jinja2.exceptions import TemplateError
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

BEGIN = "\ue000"
END = "\ue001"


class GenerationTag(Extension):
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_mark"), [], [], body).set_lineno(lineno)

    def _mark(self, caller):
        return BEGIN + caller() + END


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(fmt):
    return datetime.now().strftime(fmt)


def make_env():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationTag, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def spans_of(marked):
    text, spans, pos, begin = [], [], 0, None
    for ch in marked:
        if ch == BEGIN:
            begin = pos
        elif ch == END:
            spans.append([begin, pos])
        else:
            text.append(ch)
            pos += len(ch.encode("utf-8"))
    return "".join(text), spans


def main():
    job = json.load(open(sys.argv[1], encoding="utf-8"))
    env = make_env()
    out = []
    for case in job["cases"]:
        try:
            marked = env.from_string(case["template"]).render(**case["context"])
            text, spans = spans_of(marked)
            out.append({"text": text, "spans": spans})
        except Exception as e:  # the C++ side compares failure with failure
            out.append({"error": "%s: %s" % (type(e).__name__, e)})
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=True)


if __name__ == "__main__":
    main()
