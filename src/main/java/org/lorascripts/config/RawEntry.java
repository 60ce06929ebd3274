package org.lorascripts.config;

/**
 * One setting as written: the registry key it binds to, the spelling the user wrote (an alias
 * is reported as written), the raw value and where it came from.
 */
record RawEntry(ConfigKey key, String written, RawValue value, Origin origin) {}
