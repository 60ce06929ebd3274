package org.lorascripts.text.prompt;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * AUTOMATIC1111's extra-network syntax in sampling prompts, for LoRA tags:
 * {@code <lora:name>}, {@code <lora:name:0.8>}, {@code <lora:name:te:unet>},
 * {@code <lora:name:te=0.8:unet=0.5>}. Reference: {@code modules/extra_networks.py} and
 * {@code extensions-builtin/Lora/extra_networks_lora.py} of stable-diffusion-webui.
 *
 * <p>Like the WebUI, a tag is replaced by nothing and the text around it is kept as written (so
 * {@code "a, <lora:x:1>, b"} leaves {@code "a, , b"}, the prompt the WebUI would encode); only the
 * ends are trimmed. Unlike the WebUI, spaces inside the tag ({@code < lora : name : 0.8 >}) are
 * tolerated, and a malformed tag is an error rather than a silently wrong weight. Attention syntax
 * such as {@code (word:1.2)} is not interpreted; parentheses stay plain text.
 */
public final class PromptSyntax {
    private static final Pattern LORA_OPEN = Pattern.compile("<\\s*lora\\s*:", Pattern.CASE_INSENSITIVE);
    /** Decimal numbers as Python's float() takes them, without inf/nan, hex, or Java's 'd'/'f' suffixes. */
    private static final Pattern NUMBER = Pattern.compile("[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?");

    private PromptSyntax() {}

    /** The prompt without its LoRA tags, and the tags. */
    public static PromptWithLoras extractLoras(String prompt) {
        List<LoraTag> loras = new ArrayList<>();
        StringBuilder text = new StringBuilder(prompt.length());
        Matcher open = LORA_OPEN.matcher(prompt);
        int copied = 0;
        while (open.find(copied)) {
            int start = open.start();
            int close = prompt.indexOf('>', open.end());
            int nextOpen = prompt.indexOf('<', open.end());
            if (close < 0 || (nextOpen >= 0 && nextOpen < close)) {
                throw new IllegalArgumentException("unclosed LoRA tag at character " + start + " of the prompt: \""
                        + excerpt(prompt, start) + "\" (expected <lora:name:weight>)");
            }
            String tag = prompt.substring(start, close + 1);
            loras.add(parseArguments(prompt.substring(open.end(), close), tag, start));
            text.append(prompt, copied, start);
            copied = close + 1;
        }
        text.append(prompt, copied, prompt.length());
        return new PromptWithLoras(text.toString().strip(), loras);
    }

    private static LoraTag parseArguments(String args, String tag, int at) {
        String[] items = args.split(":", -1);
        String name = items[0].strip();
        if (name.isEmpty()) throw error(tag, at, "has no LoRA name");
        List<String> positional = new ArrayList<>();
        String te = null;
        String unet = null;
        for (int i = 1; i < items.length; i++) {
            String item = items[i].strip();
            int eq = item.indexOf('=');
            if (eq < 0) {
                positional.add(item);
                continue;
            }
            String key = item.substring(0, eq).strip();
            String value = item.substring(eq + 1).strip();
            switch (key) {
                case "te" -> te = value;
                case "unet" -> unet = value;
                case "dyn" -> throw error(tag, at, "uses dyn (dynamic LoRA rank), which is not supported");
                default -> throw error(tag, at, "has an unknown argument \"" + key + "\" (known: te, unet)");
            }
        }
        if (positional.size() > 2) {
            throw error(tag, at, positional.size() == 3
                    ? "gives a dynamic rank (a fourth part), which is not supported"
                    : "has too many parts; expected <lora:name:weight> or <lora:name:te_weight:unet_weight>");
        }
        double teWeight = 1.0;
        if (!positional.isEmpty()) teWeight = weight(positional.get(0), tag, at);
        if (te != null) teWeight = weight(te, tag, at);
        double unetWeight = teWeight;
        if (positional.size() > 1) unetWeight = weight(positional.get(1), tag, at);
        if (unet != null) unetWeight = weight(unet, tag, at);
        return new LoraTag(name, teWeight, unetWeight);
    }

    private static double weight(String s, String tag, int at) {
        if (!NUMBER.matcher(s).matches()) {
            throw error(tag, at, "has a malformed weight \"" + s + "\"; expected a number such as 0.8");
        }
        return Double.parseDouble(s);
    }

    private static IllegalArgumentException error(String tag, int at, String what) {
        return new IllegalArgumentException("LoRA tag " + tag + " at character " + at + " of the prompt " + what);
    }

    private static String excerpt(String s, int from) {
        return s.length() - from <= 40 ? s.substring(from) : s.substring(from, from + 40) + "...";
    }
}
