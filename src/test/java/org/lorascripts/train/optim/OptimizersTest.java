package org.lorascripts.train.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.lorascripts.config.ConfigException;
import org.lorascripts.config.OptimizerType;
import org.lorascripts.config.TrainConfig;
import org.lorascripts.nn.NamedParam;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Torch;

/** The config names, kohya's aliases, optimizer_args and the factory. */
class OptimizersTest {
    private static TrainConfig.Optimizer config(Map<String, Object> settings) {
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>(settings);
        m.putIfAbsent("train_data_dir", System.getProperty("java.io.tmpdir"));
        m.putIfAbsent("base_model", "builtin:tiny-sd");
        return TrainConfig.of(m).optimizer();
    }

    @Test void kohyaSpellingsAreAliases() {
        assertEquals(OptimizerType.PRODIGY, config(Map.of("optimizer", "Prodigy")).type());
        assertEquals(OptimizerType.SGD_NESTEROV, config(Map.of("optimizer_type", "SGDNesterov")).type());
        assertEquals(OptimizerType.ADAMW, config(Map.of("optimizer", "AdamW")).type());
        assertEquals(OptimizerType.LION, config(Map.of("optimizer", "Lion")).type());
        assertEquals(OptimizerType.ADAFACTOR, config(Map.of("optimizer", "Adafactor")).type());
    }

    @Test void adamW8bitAndItsPagedSpellingAreOneOptimizer() {
        assertEquals(OptimizerType.ADAMW8BIT, config(Map.of("optimizer_type", "AdamW8bit")).type());
        assertEquals(OptimizerType.ADAMW8BIT, config(Map.of("optimizer_type", "PagedAdamW8bit")).type());
        assertEquals(OptimizerType.ADAMW8BIT, config(Map.of("optimizer", "adamw8bit")).type());
        assertEquals("bitsandbytes.optim.adamw.AdamW8bit(betas=(0.9, 0.99),weight_decay=0.05)", Optimizers.describe(config(
                Map.of("optimizer", "adamw8bit", "optimizer_args", List.of("betas=0.9,0.99", "weight_decay=0.05")))));
        ConfigException bad = assertThrows(ConfigException.class,
                () -> config(Map.of("optimizer", "adamw8bit", "optimizer_args", List.of("min_8bit_size=1.5"))));
        assertTrue(bad.getMessage().contains("min_8bit_size must be a whole number"), bad.getMessage());
    }

    @Test void otherEightBitOptimizersAreAClearOneLineError() {
        ConfigException e = assertThrows(ConfigException.class, () -> config(Map.of("optimizer", "Adam8bit")));
        assertTrue(e.getMessage().contains("8-bit") && e.getMessage().contains("use adamw"), e.getMessage());
        assertTrue(!e.getMessage().strip().contains("\n"), e.getMessage());
        ConfigException lion = assertThrows(ConfigException.class, () -> config(Map.of("optimizer_type", "PagedLion8bit")));
        assertTrue(lion.getMessage().contains("use lion") && lion.getMessage().contains("adamw8bit"), lion.getMessage());
        ConfigException dadapt = assertThrows(ConfigException.class, () -> config(Map.of("optimizer", "DAdaptAdam")));
        assertTrue(dadapt.getMessage().contains("prodigy"), dadapt.getMessage());
    }

    @Test void optimizerArgsAreParsedPythonStyle() {
        TrainConfig.Optimizer o = config(Map.of("optimizer", "prodigy", "optimizer_args",
                List.of("weight_decay=0.01", "d_coef=2", "use_bias_correction=True", "betas=0.9,0.99", "beta3=None", "growth_rate=inf")));
        assertEquals(0.01, o.args().number("weight_decay", 0));
        assertEquals(2.0, o.args().number("d_coef", 1));
        assertTrue(o.args().bool("use_bias_correction", false));
        assertEquals(0.99, o.args().pair("betas", 0, 0)[1]);
        assertEquals(null, o.args().optionalNumber("beta3", 0.5));
        assertEquals(Double.POSITIVE_INFINITY, o.args().number("growth_rate", 1));
    }

    @Test void anUnknownArgNamesTheKeyAndTheAcceptedOnes() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> config(Map.of("optimizer", "lion", "optimizer_args", List.of("d_coef=2"))));
        assertTrue(e.getMessage().contains("'d_coef'") && e.getMessage().contains("weight_decay, betas"), e.getMessage());
        ConfigException bad = assertThrows(ConfigException.class,
                () -> config(Map.of("optimizer", "sgd", "optimizer_args", List.of("nesterov=yes"))));
        assertTrue(bad.getMessage().contains("True or False"), bad.getMessage());
    }

    @Test void factoryBuildsEachOptimizerWithItsDefaults() {
        try (Scope s = Scope.open()) {
            List<NamedParam> ps = List.of(new NamedParam("w", Torch.zeros(new long[] {2, 2}, org.lorascripts.tensor.DType.F32,
                    org.lorascripts.tensor.Device.CPU).requiresGrad_(true)));
            try (Optimizer o = Optimizers.create(config(Map.of()), ps)) { assertInstanceOf(AdamW.class, o); }
            try (Optimizer o = Optimizers.create(config(Map.of("optimizer", "lion")), ps)) { assertInstanceOf(Lion.class, o); }
            try (Optimizer o = Optimizers.create(config(Map.of("optimizer", "adamw8bit")), ps)) {
                assertTrue(!((AdamW8bit) o).quantizes(4095) && ((AdamW8bit) o).quantizes(4096), "bitsandbytes' min_8bit_size");
            }
            try (Optimizer o = Optimizers.create(config(Map.of("optimizer", "adamw8bit", "optimizer_args", List.of("min_8bit_size=0"))), ps)) {
                assertTrue(((AdamW8bit) o).quantizes(4), "min_8bit_size=0 quantises every tensor");
            }
            try (Optimizer o = Optimizers.create(config(Map.of("optimizer", "sgd_nesterov")), ps)) { assertInstanceOf(Sgd.class, o); }
            try (Optimizer o = Optimizers.create(config(Map.of("optimizer", "adafactor")), ps)) {
                assertTrue(((Adafactor) o).relativeStep());
            }
            try (Optimizer o = Optimizers.create(config(Map.of("optimizer", "prodigy", "optimizer_args", List.of("d0=1e-4"))), ps)) {
                assertEquals(1e-4, ((Prodigy) o).d());
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new Sgd(ps, 0, 0, 0, true));
            assertTrue(e.getMessage().contains("Nesterov"), e.getMessage());
        }
        assertEquals("prodigyopt.prodigy.Prodigy(d_coef=2.0)",
                Optimizers.describe(config(Map.of("optimizer", "prodigy", "optimizer_args", List.of("d_coef=2")))));
    }

    private static java.util.List<String> warnings(Map<String, Object> settings) {
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>(settings);
        m.putIfAbsent("train_data_dir", System.getProperty("java.io.tmpdir"));
        m.putIfAbsent("base_model", "builtin:tiny-sd");
        return org.lorascripts.config.ConfigLoader.fromMap(m, java.nio.file.Path.of("").toAbsolutePath()).warnings().stream()
                .map(Object::toString).toList();
    }

    @Test void nesterovWithoutMomentumIsAConfigError() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> config(Map.of("optimizer", "sgd", "optimizer_args", List.of("nesterov=True"))));
        assertTrue(e.getMessage().contains("Nesterov momentum needs momentum > 0"), e.getMessage());
        assertEquals(OptimizerType.SGD, config(Map.of("optimizer", "sgd", "optimizer_args", List.of("nesterov=True", "momentum=0.9"))).type());
    }

    @Test void learningRateAdviceKnowsTheOptimizer() {
        assertTrue(warnings(Map.of("optimizer", "prodigy", "learning_rate", 1.0)).stream().noneMatch(w -> w.contains("learning_rate")));
        assertTrue(warnings(Map.of("optimizer", "prodigy", "learning_rate", 1e-4)).stream().anyMatch(w -> w.contains("about 1.0")));
        assertTrue(warnings(Map.of("optimizer", "adafactor", "learning_rate", 1e-4)).stream().anyMatch(w -> w.contains("ignored")));
        assertTrue(warnings(Map.of("optimizer", "adafactor")).stream().noneMatch(w -> w.contains("ignored")));
    }
}
