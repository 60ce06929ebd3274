package org.lorascripts.text.clip;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Text to the pieces BPE works on, as Hugging Face's {@code CLIPTokenizer} (transformers 5,
 * backed by the tokenizers library) does it:
 * <ol>
 *   <li>The exact strings {@code <|startoftext|>} and {@code <|endoftext|>} (and the pad token's,
 *       when it is another token) are cut out of the raw text first and become their ids
 *       (case-sensitive: HF matches special tokens before normalizing, so {@code <|EndOfText|>}
 *       is ordinary text).</li>
 *   <li>Each remaining stretch is normalized: NFC, runs of whitespace to one space, lower case.</li>
 *   <li>CLIP's regular expression splits it into pieces; what it does not match (whitespace) is
 *       dropped.</li>
 * </ol>
 * OpenAI's {@code simple_tokenizer.py} differs only where ftfy or {@code html.unescape} change the
 * text (ligatures, mojibake, C1 controls, {@code &amp;}), in Greek final sigma, and in treating an
 * upper-case {@code <|ENDOFTEXT|>} as special; diffusers pipelines use the HF tokenizer, so we follow it.
 */
final class ClipPreTokenizer {
    /** One piece: a special token (by id) or a word for BPE. */
    record Piece(String text, int specialId) {
        boolean isSpecial() {
            return specialId >= 0;
        }
    }

    /*
     * CLIP's pattern. UNICODE_CHARACTER_CLASS makes \s Unicode White_Space (NBSP, U+3000, U+0085...)
     * as it is in the Python regex module and in Oniguruma; Java's default \s is ASCII only.
     * The special-token alternatives stay: after lower-casing, "<|ENDOFTEXT|>" must stay one piece.
     */
    private static final Pattern CLIP_PIECES = Pattern.compile(
            "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
            Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern WHITESPACE_RUN = Pattern.compile("\\s+", Pattern.UNICODE_CHARACTER_CLASS);

    private final String[] specials;
    private final int[] specialIds;

    /**
     * {@code specials[i]} spelled exactly in the text becomes {@code specialIds[i]}; where two
     * could start at the same place, the earlier in the array wins.
     */
    ClipPreTokenizer(String[] specials, int[] specialIds) {
        if (specials.length != specialIds.length) throw new IllegalArgumentException("one id per special token");
        this.specials = specials.clone();
        this.specialIds = specialIds.clone();
    }

    List<Piece> pieces(String text) {
        List<Piece> out = new ArrayList<>();
        int from = 0;
        while (from <= text.length()) {
            int at = text.length();
            int which = -1;
            for (int s = 0; s < specials.length; s++) {
                int i = text.indexOf(specials[s], from);
                if (i >= 0 && i < at) {
                    at = i;
                    which = s;
                }
            }
            words(text.substring(from, at), out);
            if (which < 0) break;
            out.add(new Piece(specials[which], specialIds[which]));
            from = at + specials[which].length();
        }
        return out;
    }

    private static void words(String raw, List<Piece> out) {
        if (raw.isEmpty()) return;
        Matcher m = CLIP_PIECES.matcher(normalize(raw));
        while (m.find()) {
            String piece = m.group();
            if (piece.equals(ClipVocabulary.START_OF_TEXT) || piece.equals(ClipVocabulary.END_OF_TEXT)) {
                /*
                 * A special spelling that was not exact before lower-casing. HF's ByteLevel
                 * pre-tokenizer then splits every piece again with GPT-2's pattern; that second
                 * split changes only these two pieces (the only ones mixing letters and symbols),
                 * into "<|", the name, "|>", each a word of its own.
                 */
                out.add(new Piece("<|", -1));
                out.add(new Piece(piece.substring(2, piece.length() - 2), -1));
                out.add(new Piece("|>", -1));
            } else {
                out.add(new Piece(piece, -1));
            }
        }
    }

    /** NFC, whitespace runs to one space, lower case: the HF CLIPTokenizer normalizer sequence. */
    static String normalize(String raw) {
        String nfc = Normalizer.normalize(raw, Normalizer.Form.NFC);
        return lowerCaseEachCodePoint(WHITESPACE_RUN.matcher(nfc).replaceAll(" "));
    }

    /**
     * Lower-cases one code point at a time, as Rust's {@code char::to_lowercase} in the tokenizers
     * normalizer does: unconditional mappings only, so no Greek final sigma (String.toLowerCase
     * would turn a word-final Σ into ς where HF gives σ), but İ still becomes "i" + U+0307.
     */
    static String lowerCaseEachCodePoint(String s) {
        StringBuilder b = new StringBuilder(s.length());
        s.codePoints().forEach(cp -> {
            if (cp < 0x80) {
                b.append((char) (cp >= 'A' && cp <= 'Z' ? cp + 32 : cp));
            } else {
                // A one-code-point string has no context, so only the context-free mappings apply.
                b.append(new String(Character.toChars(cp)).toLowerCase(Locale.ROOT));
            }
        });
        return b.toString();
    }
}
