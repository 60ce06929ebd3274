package org.lorascripts.data;

import java.util.List;
import java.util.Optional;
import org.lorascripts.config.ConfigWarning;
import org.lorascripts.text.ChatRenderer;

/**
 * The training set, the validation set when val_ratio or val_data_dir asks for one, the chat
 * format that was used (resolved from chat_template: auto), and warnings for the user.
 */
public record TextDataSplit(TextDataset train, Optional<TextDataset> val, ChatRenderer chatFormat,
                            List<ConfigWarning> warnings) {
    public TextDataSplit {
        warnings = List.copyOf(warnings);
    }
}
