package org.lorascripts.text;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.lorascripts.config.ChatTemplate;

/** Picks the chat renderer for the config's chat_template / chat_template_file and the tokenizer. */
public final class ChatRenderers {
    private ChatRenderers() {}

    /** Largest template file read (real ones are a few KiB). */
    static final long MAX_TEMPLATE_BYTES = 1 << 20;

    /**
     * {@code templateFile} wins; then {@code auto} takes the model's Jinja template when the
     * tokenizer has one (else no markup), {@code model} requires it, and the built-in names are
     * the built-in renderings. A template that does not parse fails here, naming its file.
     *
     * @throws IllegalArgumentException one line for the user
     */
    public static ChatRenderer resolve(ChatTemplate choice, Optional<Path> templateFile, HfTokenizer tokenizer) {
        if (templateFile.isPresent()) {
            Path f = templateFile.get();
            String source;
            try {
                if (!Files.isRegularFile(f)) throw new IllegalArgumentException("chat_template_file " + f + " does not exist");
                if (Files.size(f) > MAX_TEMPLATE_BYTES) throw new IllegalArgumentException("chat_template_file " + f + " is larger than 1 MiB; not a chat template");
                source = Files.readString(f);
            } catch (IOException e) {
                throw new IllegalArgumentException("chat_template_file " + f + ": cannot read it (" + e.getMessage() + ")");
            }
            return jinja(source, f.toString(), tokenizer);
        }
        Optional<String> own = tokenizer.chatTemplate();
        return switch (choice) {
            case AUTO -> own.isPresent() ? jinja(own.get(), tokenizer.chatTemplateSource().toString(), tokenizer) : ChatFormat.NONE;
            case MODEL -> jinja(own.orElseThrow(() -> new IllegalArgumentException("chat_template model: "
                    + tokenizer.chatTemplateSource() + " has no chat_template; set chat_template to llama3, chatml or mistral,"
                    + " or give chat_template_file")), tokenizer.chatTemplateSource().toString(), tokenizer);
            default -> ChatFormat.resolve(choice, own);
        };
    }

    private static ChatRenderer jinja(String source, String origin, HfTokenizer tokenizer) {
        return new JinjaChatTemplate(source, origin, tokenizer.bosToken(), tokenizer.eosToken()).check();
    }
}
