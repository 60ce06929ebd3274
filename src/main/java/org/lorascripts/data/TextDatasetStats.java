package org.lorascripts.data;

import java.nio.file.Path;
import java.util.List;

/**
 * What {@link DatasetScan#text} found: one example per non-empty line of each .txt file, one
 * per non-empty line of each .jsonl file.
 *
 * @param malformedJsonLines "file:line" of JSONL lines that are not a JSON object (first 10)
 */
public record TextDatasetStats(Path source, List<Path> files, int examples, int textExamples, int jsonlExamples,
                               List<String> malformedJsonLines) {}
