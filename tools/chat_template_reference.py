#!/usr/bin/env python3
"""Reference renders of the chat-template fixtures with transformers' own Jinja renderer.

Renders every conversation of src/test/resources/chat-templates/conversations.json, and each of
its prefixes, with each *.jinja template there (with and without add_generation_prompt), through
transformers.utils.chat_template_utils.render_jinja_template (what apply_chat_template uses), and
writes expected.json beside them. JinjaChatTemplateTest compares our renders with it byte for byte.

    /tmp/ptenv/bin/python3 tools/chat_template_reference.py
"""
import json
import pathlib

import datetime

import transformers.utils.chat_template_utils as ctu
from transformers.utils.chat_template_utils import render_jinja_template


class FixedDate(datetime.datetime):
    """strftime_now() in the templates (Llama 3.2) reads the clock; the renders use this fixed day,
    as JinjaChatTemplateTest does (JinjaChatTemplate.withToday)."""

    @classmethod
    def now(cls, tz=None):
        return cls(2025, 3, 4, 12, 0, 0)


ctu.datetime = FixedDate

DIR = pathlib.Path(__file__).resolve().parent.parent / "src/test/resources/chat-templates"
# The special tokens of each model family's tokenizer_config.json.
TOKENS = {
    "llama3": ("<|begin_of_text|>", "<|eot_id|>"),
    "llama3.1": ("<|begin_of_text|>", "<|eot_id|>"),
    "qwen2.5": ("", "<|im_end|>"),
    "mistral-v0.3": ("<s>", "</s>"),
    "gemma": ("<bos>", "<eos>"),
    "chatml": ("<s>", "<|im_end|>"),
    "llama3.2": ("<|begin_of_text|>", "<|eot_id|>"),
    "phi3.5": ("<s>", "<|endoftext|>"),
    "deepseek-r1-distill-qwen": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
}


def main():
    conversations = json.loads((DIR / "conversations.json").read_text())
    out = []
    for name, (bos, eos) in TOKENS.items():
        template = (DIR / f"{name}.jinja").read_text()
        for ci, conv in enumerate(conversations):
            for k in range(1, len(conv) + 1):
                for gen in (False, True):
                    case = {"template": name, "conversation": ci, "messages": k, "add_generation_prompt": gen}
                    try:
                        rendered, _ = render_jinja_template([conv[:k]], chat_template=template,
                                                            add_generation_prompt=gen, bos_token=bos, eos_token=eos)
                        case["text"] = rendered[0]
                    except Exception as e:  # raise_exception in the template
                        case["error"] = str(e)
                    out.append(case)
    (DIR / "expected.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(out)} cases")


if __name__ == "__main__":
    main()
