package org.lorascripts.config;

import java.util.List;

/**
 * The result of loading a config: the typed records, the values they came from (with origins,
 * for printing and for messages that name a line), and warnings about legal but doubtful
 * settings. Warnings that need the dataset size come from {@link ConfigAdvisor#forDataset}.
 */
public record LoadedConfig(TrainConfig config, ConfigValues values, List<ConfigWarning> warnings) {}
