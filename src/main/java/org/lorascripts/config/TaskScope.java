package org.lorascripts.config;

/** Which task a key applies to; a key set for the other task is ignored with a warning. */
public enum TaskScope {
    ALL("all"), IMAGE("image"), TEXT("text");

    private final String label;

    TaskScope(String label) { this.label = label; }

    public String label() { return label; }

    public boolean appliesTo(TaskType task) {
        return switch (this) {
            case ALL -> true;
            case IMAGE -> task == TaskType.IMAGE_GENERATION;
            case TEXT -> task == TaskType.TEXT_GENERATION;
        };
    }
}
