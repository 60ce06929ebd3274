package org.lorascripts.config;

import java.nio.file.Path;
import java.util.List;

/** The model a LoRA is trained on: a bundled tiny demo model or a local file/folder. */
public sealed interface BaseModel {
    String BUILTIN_PREFIX = "builtin:";

    /** Builtin model names and the task each one serves. */
    List<String> BUILTIN_NAMES = List.of("tiny-sd", "tiny-sdxl", "tiny-llama");

    /** {@code builtin:tiny-sd}, {@code builtin:tiny-sdxl} or {@code builtin:tiny-llama}: small pretrained demo models that ship in the jar. */
    record Builtin(String name) implements BaseModel {
        public TaskType task() {
            return name.equals("tiny-llama") ? TaskType.TEXT_GENERATION : TaskType.IMAGE_GENERATION;
        }

        @Override public String toString() { return BUILTIN_PREFIX + name; }
    }

    /** A checkpoint file or model folder, already resolved against the config file's folder. */
    record Local(Path path) implements BaseModel {
        @Override public String toString() { return path.toString(); }
    }
}
