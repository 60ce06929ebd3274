package org.lorascripts.data;

import java.util.List;
import java.util.Optional;
import org.lorascripts.config.ConfigWarning;
import org.lorascripts.text.ChatRenderer;

/**
 * The training set, the validation set when val_ratio or val_data_dir asks for one, the chat
 * format that was used (resolved from chat_template: auto), warnings for the user, and with several
 * train_data datasets a line per dataset and one for the mix (empty for one dataset).
 */
public record TextDataSplit(TextDataset train, Optional<TextDataset> val, ChatRenderer chatFormat,
                            List<ConfigWarning> warnings, List<String> mixSummary) {
    public TextDataSplit {
        warnings = List.copyOf(warnings);
        mixSummary = List.copyOf(mixSummary);
    }
}
