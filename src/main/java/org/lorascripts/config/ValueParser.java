package org.lorascripts.config;

import java.math.BigDecimal;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Turns a {@link RawValue} into the Java type of its key ({@link ValueKind}) and checks ranges
 * and choices. The same rules serve YAML files and {@code --set}; every failure is a one-line
 * {@link ConfigException} "ORIGIN: KEY must be EXPECTATION, got 'VALUE'".
 */
final class ValueParser {
    private static final Pattern INTEGER = Pattern.compile("[-+]?[0-9]+");
    private static final Pattern DECIMAL = Pattern.compile("[-+]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][-+]?[0-9]+)?");
    private static final Pattern CUDA_INDEX = Pattern.compile("cuda:[0-9]+");
    private static final Pattern RESOLUTION_PAIR = Pattern.compile("\\s*([0-9]+)\\s*[,xX]\\s*([0-9]+)\\s*");

    private ValueParser() {}

    /**
     * The typed value, or null for a YAML null (the key then keeps its default).
     *
     * @param baseDir folder that relative paths resolve against
     */
    static Object parse(RawEntry e, Path baseDir) {
        if (e.value() instanceof RawValue.Null) return null;
        if (e.value() instanceof RawValue.Empty) throw empty(e);
        ConfigKey key = e.key();
        return switch (key.kind()) {
            case INT -> checkIntChoice(e, (int) checkRange(e, parseInteger(e, scalar(e))));
            case FLOAT -> checkRange(e, parseDecimal(e, scalar(e)));
            case NUMBER_LIST -> parseNumbers(e);
            case BOOL -> parseBool(e, scalar(e));
            case CHOICE -> parseChoice(e, scalar(e));
            case STRING -> nonEmpty(e, scalar(e));
            case PATH -> parsePath(e, nonEmpty(e, scalar(e)), baseDir);
            case MODEL -> parseModel(e, nonEmpty(e, scalar(e)), baseDir);
            case NAME_LIST -> parseList(e, true);
            case TEXT_LIST -> parseList(e, false);
            case DATASET_LIST -> parseDatasets(e, baseDir);
            case RESOLUTION -> parseResolution(e);
            case DEVICE -> parseDevice(e, scalar(e));
            case SUBSETS -> parseSubsets(e, baseDir);
        };
    }

    /**
     * A list of mappings with the keys of {@link SubsetKeys}, each value typed by its key's rules. Every
     * problem of every subset is collected, each naming its line and the subset as {@code subsets[i].key}.
     */
    private static List<SubsetKeys.Settings> parseSubsets(RawEntry e, Path baseDir) {
        if (!(e.value() instanceof RawValue.Sequence q)) throw invalid(e);
        List<String> problems = new ArrayList<>();
        List<SubsetKeys.Settings> out = new ArrayList<>();
        for (int i = 0; i < q.items().size(); i++) {
            RawValue item = q.items().get(i);
            String name = e.written() + "[" + i + "]";
            if (!(item instanceof RawValue.Mapping m) || m.fields().isEmpty()) {
                problems.add(e.origin() + ": " + name + " must be a mapping like {image_dir: data/style, num_repeats: 10}, got "
                        + item.shown());
                continue;
            }
            Origin itemOrigin = at(e.origin(), m.fields().getFirst().line());
            java.util.Map<String, Object> values = new java.util.LinkedHashMap<>();
            for (RawValue.Field f : m.fields()) {
                Origin origin = at(e.origin(), f.line());
                var key = SubsetKeys.lookup(f.key());
                if (key.isEmpty()) {
                    String hint = ClosestName.hint(f.key(), SubsetKeys.names());
                    problems.add(origin + ": unknown subset key '" + f.key() + "' in " + name
                            + (hint.isEmpty() ? "; subset keys are " + String.join(", ", SubsetKeys.names()) : hint));
                    continue;
                }
                if (values.containsKey(f.key())) {
                    problems.add(origin + ": duplicate key '" + f.key() + "' in " + name + "; keep one");
                    continue;
                }
                try {
                    Object typed = parse(new RawEntry(key.get(), name + "." + f.key(), f.value(), origin), baseDir);
                    if (typed != null) values.put(f.key(), typed);
                } catch (ConfigException bad) {
                    problems.addAll(bad.problems());
                }
            }
            if (!values.containsKey("image_dir") && m.fields().stream().noneMatch(f -> f.key().equals("image_dir"))) {
                problems.add(itemOrigin + ": " + name + " has no image_dir; give the folder of its images");
            }
            out.add(new SubsetKeys.Settings(values, itemOrigin));
        }
        if (!problems.isEmpty()) throw new ConfigException(problems);
        return List.copyOf(out);
    }

    /** train_data: paths, or mappings with path and an optional probability or weight (a number >= 0). */
    private static List<DataSource> parseDatasets(RawEntry e, Path baseDir) {
        if (!(e.value() instanceof RawValue.Sequence q) || q.items().stream().noneMatch(i -> i instanceof RawValue.Mapping)) {
            return parseList(e, true).stream().map(t -> new DataSource(parsePath(e, t, baseDir), null, false)).toList();
        }
        List<DataSource> out = new ArrayList<>();
        for (int i = 0; i < q.items().size(); i++) {
            String name = e.written() + "[" + i + "]";
            RawValue item = q.items().get(i);
            if (item instanceof RawValue.Scalar s && !s.text().isBlank()) {
                out.add(new DataSource(parsePath(e, s.text().strip(), baseDir), null, false));
                continue;
            }
            if (!(item instanceof RawValue.Mapping m)) {
                throw ConfigException.at(e.origin(), name + " must be a path or a mapping like {path: data.jsonl, probability: 0.7}, got " + item.shown());
            }
            Origin origin = m.fields().isEmpty() ? e.origin() : at(e.origin(), m.fields().getFirst().line());
            String path = null;
            Double share = null;
            boolean weight = false;
            for (RawValue.Field f : m.fields()) {
                String text = f.value() instanceof RawValue.Scalar s ? s.text().strip() : null;
                switch (f.key()) {
                    case "path" -> path = text;
                    case "probability", "weight" -> {
                        if (share != null) throw ConfigException.at(origin, name + " gives both probability and weight; keep one");
                        double v = text != null && DECIMAL.matcher(text.replace("_", "")).matches() ? Double.parseDouble(text.replace("_", "")) : Double.NaN;
                        if (!(v >= 0) || Double.isInfinite(v) || (f.key().equals("probability") && v > 1)) {
                            throw ConfigException.at(origin, name + "." + f.key() + " must be a number " + (f.key().equals("probability") ? "in [0, 1]" : ">= 0")
                                    + ", got " + f.value().shown());
                        }
                        share = v;
                        weight = f.key().equals("weight");
                    }
                    default -> throw ConfigException.at(origin, "unknown key '" + f.key() + "' in " + name + "; an entry has path and"
                            + " optionally probability or weight (the format of each file is detected from its content)");
                }
            }
            if (path == null || path.isEmpty()) throw ConfigException.at(origin, name + " has no path; give the file or folder");
            out.add(new DataSource(parsePath(e, path, baseDir), share, weight));
        }
        return List.copyOf(out);
    }

    private static Origin at(Origin list, int line) {
        return line > 0 && !list.isOverride() ? Origin.file(list.source(), line) : list;
    }

    static ConfigException invalid(RawEntry e) {
        return invalid(e, "");
    }

    private static ConfigException invalid(RawEntry e, String hint) {
        return ConfigException.at(e.origin(),
                e.written() + " must be " + e.key().expectation() + ", got " + e.value().shown() + hint);
    }

    /** {@code key:} with nothing, or {@code key: ""}: named, never a silent default. */
    static ConfigException empty(RawEntry e) {
        return ConfigException.at(e.origin(), e.written() + ": empty value; give " + e.key().emptyHint() + " or remove the line");
    }

    private static String scalar(RawEntry e) {
        if (e.value() instanceof RawValue.Scalar s) {
            if (s.text().isBlank()) throw empty(e);
            return s.text().strip();
        }
        throw invalid(e);
    }

    private static String nonEmpty(RawEntry e, String text) {
        if (text.isEmpty()) throw empty(e);
        return text;
    }

    /**
     * An int, exactly: digits, or a float spelling of a whole number ({@code 1e3}, {@code 100.0}).
     * Anything outside the int range is "too large" (or "too small"), never wrapped or rounded.
     */
    private static double parseInteger(RawEntry e, String text) {
        String t = text.replace("_", "");
        BigDecimal d;
        if (INTEGER.matcher(t).matches()) {
            d = new BigDecimal(t.startsWith("+") ? t.substring(1) : t);
        } else if (DECIMAL.matcher(t).matches() && exponentFits(t)) { // 1e3 or 100.0 are integers written as floats
            d = new BigDecimal(t);
        } else {
            throw invalid(e);
        }
        if (d.compareTo(BigDecimal.valueOf(Integer.MAX_VALUE)) > 0) throw outOfRange(e, true);
        if (d.compareTo(BigDecimal.valueOf(Integer.MIN_VALUE)) < 0) throw outOfRange(e, false);
        if (d.signum() != 0 && d.stripTrailingZeros().scale() > 0) throw invalid(e);
        return d.intValueExact();
    }

    /** BigDecimal takes exponents up to 9 digits; longer ones (1e99999999999) are refused as malformed. */
    private static boolean exponentFits(String t) {
        int x = Math.max(t.indexOf('e'), t.indexOf('E'));
        return x < 0 || t.substring(x + 1).replaceFirst("^[-+]", "").length() <= 9;
    }

    private static ConfigException outOfRange(RawEntry e, boolean large) {
        ConfigKey k = e.key();
        String limit;
        if (k.kind() == ValueKind.RESOLUTION) limit = large ? "8192" : "8";
        else if (large) limit = k.max() != null ? NumberText.format(k.max(), k.kind()) : Integer.toString(Integer.MAX_VALUE);
        else limit = k.min() != null ? NumberText.format(k.min(), k.kind()) : Integer.toString(Integer.MIN_VALUE);
        return invalid(e, large ? " (too large: at most " + limit + ")" : " (too small: at least " + limit + ")");
    }

    private static double parseDecimal(RawEntry e, String text) {
        String t = text.replace("_", "");
        if (!DECIMAL.matcher(t).matches()) throw invalid(e);
        double v = Double.parseDouble(t);
        if (Double.isInfinite(v)) throw invalid(e, v > 0 ? " (too large)" : " (too small)");
        return v;
    }

    private static double checkRange(RawEntry e, double v) {
        ConfigKey k = e.key();
        boolean low = k.min() != null && (k.min() == Double.MIN_VALUE ? v <= 0 : v < k.min());
        boolean high = k.max() != null && (k.maxExclusive() ? v >= k.max() : v > k.max());
        if (low || high) throw invalid(e);
        return v;
    }

    /**
     * One number or a list of 1..maxItems numbers, each in the key's range. kohya's
     * {@code --text_encoder_lr} takes one value or several (nargs="*"); a TOML/YAML list is the same.
     */
    private static List<Double> parseNumbers(RawEntry e) {
        ConfigKey k = e.key();
        if (e.value() instanceof RawValue.Scalar sc && !(k.maxItems() > 1 && sc.text().contains(","))) {
            return List.of(checkRange(e, parseDecimal(e, scalar(e))));
        }
        List<RawValue> items;
        if (e.value() instanceof RawValue.Scalar sc) {   // "0.7,0.3" as LLaMA-Factory writes interleave_probs
            items = new ArrayList<>();
            for (String part : sc.text().split(",", -1)) items.add(part.isBlank() ? new RawValue.Empty() : new RawValue.Scalar(part.strip()));
        } else if (e.value() instanceof RawValue.Sequence q) {
            items = q.items();
        } else {
            throw invalid(e);
        }
        int n = items.size();
        if (n < 1 || n > k.maxItems()) {
            throw ConfigException.at(e.origin(), e.written() + " must be " + k.expectation() + ", got a list of " + n);
        }
        List<Double> out = new ArrayList<>();
        for (RawValue item : items) {
            if (!(item instanceof RawValue.Scalar s) || s.text().isBlank()) {
                throw ConfigException.at(e.origin(), e.written() + " must be " + k.expectation() + ", got "
                        + (item instanceof RawValue.Scalar || item instanceof RawValue.Empty ? "an empty item" : "an item " + item.shown()));
            }
            String t = s.text().strip().replace("_", "");
            double v = DECIMAL.matcher(t).matches() ? Double.parseDouble(t) : Double.NaN;
            boolean low = k.min() != null && (k.min() == Double.MIN_VALUE ? v <= 0 : v < k.min());
            boolean high = k.max() != null && v > k.max();
            if (Double.isNaN(v) || Double.isInfinite(v) || low || high) {
                throw ConfigException.at(e.origin(), e.written() + " must be " + k.expectation() + ", got an item '" + s.text().strip() + "'");
            }
            out.add(v);
        }
        return List.copyOf(out);
    }

    private static Object checkIntChoice(RawEntry e, int v) {
        if (!e.key().choices().isEmpty() && !e.key().choices().contains(Integer.toString(v))) throw invalid(e);
        return v;
    }

    /**
     * One rule for the file and {@code --set}: the YAML 1.1 booleans that PyYAML (and so kohya's and
     * HF's Python configs) read as booleans, true/false, yes/no, on/off, in any letter case. A YAML
     * 1.2 parser reads yes/no/on/off as strings, but the text is typed by the key here, not by the
     * parser, so {@code flip_aug: yes} means true whichever YAML version the user had in mind.
     * 1/0 and y/n are refused: PyYAML reads them as a number and a string.
     */
    private static Boolean parseBool(RawEntry e, String text) {
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "true", "yes", "on" -> true;
            case "false", "no", "off" -> false;
            case "1", "0", "y", "n", "t", "f" -> throw invalid(e, " (1/0 and y/n are not booleans here; write true or false)");
            default -> throw invalid(e);
        };
    }

    private static Object parseChoice(RawEntry e, String text) {
        String wanted = normalizeChoice(text);
        for (Enum<?> c : e.key().choiceType().getEnumConstants()) {
            if (normalizeChoice(((ConfigChoice) c).configName()).equals(wanted)) return c;
        }
        for (Enum<?> c : e.key().choiceType().getEnumConstants()) {
            for (String alias : ((ConfigChoice) c).aliases()) if (normalizeChoice(alias).equals(wanted)) return c;
        }
        if (e.key().choiceType() == OptimizerType.class) {
            String why = OptimizerType.notImplemented(text);
            if (why != null) throw ConfigException.at(e.origin(), e.written() + " '" + text + "': " + why);
        }
        throw invalid(e, ClosestName.hint(text, e.key().choices()));
    }

    private static String normalizeChoice(String s) {
        return s.toLowerCase(Locale.ROOT).replace('-', '_');
    }

    private static Path parsePath(RawEntry e, String text, Path baseDir) {
        String t = text;
        if (t.equals("~") || t.startsWith("~/")) t = System.getProperty("user.home") + t.substring(1);
        try {
            Path p = Path.of(t);
            // Paths typed on the command line are relative to the shell's folder, like any CLI argument.
            Path base = e.origin().isOverride() ? Path.of("").toAbsolutePath() : baseDir;
            return p.isAbsolute() ? p.normalize() : base.resolve(p).normalize();
        } catch (InvalidPathException bad) {
            throw ConfigException.at(e.origin(), e.written() + " is not a valid path: '" + text + "' (" + bad.getReason() + ")");
        }
    }

    private static BaseModel parseModel(RawEntry e, String text, Path baseDir) {
        if (!text.startsWith(BaseModel.BUILTIN_PREFIX)) return new BaseModel.Local(parsePath(e, text, baseDir));
        String name = text.substring(BaseModel.BUILTIN_PREFIX.length());
        if (!BaseModel.BUILTIN_NAMES.contains(name)) {
            List<String> spelled = BaseModel.BUILTIN_NAMES.stream().map(n -> BaseModel.BUILTIN_PREFIX + n).toList();
            throw ConfigException.at(e.origin(), e.written() + " '" + text + "' is not a builtin model; builtins are "
                    + String.join(", ", spelled) + ClosestName.hint(text, spelled));
        }
        return new BaseModel.Builtin(name);
    }

    private static List<String> parseList(RawEntry e, boolean splitCommas) {
        List<String> out = new ArrayList<>();
        switch (e.value()) {
            case RawValue.Scalar s when splitCommas -> {
                for (String part : s.text().split(",")) if (!part.isBlank()) out.add(part.strip());
            }
            case RawValue.Scalar s -> { if (!s.text().isBlank()) out.add(s.text()); }
            case RawValue.Sequence q -> {
                for (RawValue item : q.items()) {
                    if (!(item instanceof RawValue.Scalar s) || s.text().isBlank()) {
                        boolean blank = item instanceof RawValue.Empty || item instanceof RawValue.Scalar;
                        throw ConfigException.at(e.origin(), e.written() + " must be " + e.key().expectation()
                                + ", got " + (blank ? "an empty item" : "an item " + item.shown()));
                    }
                    out.add(splitCommas ? s.text().strip() : s.text());
                }
            }
            default -> throw invalid(e);
        }
        return List.copyOf(out);
    }

    private static Resolution parseResolution(RawEntry e) {
        int w, h;
        switch (e.value()) {
            case RawValue.Scalar s when INTEGER.matcher(s.text().strip()).matches() -> {
                w = h = (int) parseInteger(e, s.text().strip());
            }
            case RawValue.Scalar s -> {
                var m = RESOLUTION_PAIR.matcher(s.text());
                if (!m.matches()) throw invalid(e);
                w = sideOrFail(e, m.group(1));
                h = sideOrFail(e, m.group(2));
            }
            case RawValue.Sequence q when q.items().size() == 2
                    && q.items().get(0) instanceof RawValue.Scalar a && q.items().get(1) instanceof RawValue.Scalar b -> {
                w = sideOrFail(e, a.text().strip());
                h = sideOrFail(e, b.text().strip());
            }
            default -> throw invalid(e);
        }
        if (w > 8192 || h > 8192) throw outOfRange(e, true);
        if (w < 8 || h < 8 || w % 8 != 0 || h % 8 != 0) throw invalid(e);
        return new Resolution(w, h);
    }

    private static int sideOrFail(RawEntry e, String text) {
        if (!INTEGER.matcher(text).matches()) throw invalid(e);
        if (text.length() > 6) throw outOfRange(e, true);
        return Integer.parseInt(text);
    }

    private static String parseDevice(RawEntry e, String text) {
        String t = text.toLowerCase(Locale.ROOT);
        if (t.equals("auto") || t.equals("cpu") || t.equals("cuda") || CUDA_INDEX.matcher(t).matches()) return t;
        throw invalid(e, t.startsWith("gpu") ? " (did you mean 'cuda'?)" : ClosestName.hint(t, List.of("auto", "cpu", "cuda")));
    }
}
