package org.lorascripts.gui;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The web app end to end in a real browser: Debian's headless chromium driven by Selenium through
 * /usr/bin/chromedriver (given explicitly, so nothing is downloaded). One browser session for the whole
 * class: load the quickstart preset, see the CLI's validation message for a bad value, shorten the run
 * through the form, start it, and watch progress arrive by SSE until the run finishes with its samples; train
 * the YAML the app wrote for that run from the CLI and get the same LoRA; stop and resume a run; edit, bulk-edit
 * and label captions (the labeler's progress streamed); preview text data as training renders and masks it;
 * the Models page; the Chinese labels.
 * Screenshots of each page go to target/gui-screenshots, or to -Dgui.screenshots=DIR (docs/images for the
 * README). Skipped, with one line saying why, where chromium and chromedriver are not installed.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GuiBrowserTest {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

    @TempDir static Path work;
    static GuiServer server;
    static ChromeDriver browser;
    static String url;
    static Path shots;

    @BeforeAll
    static void start() throws IOException {
        Assumptions.assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "browser tests skipped: no /usr/bin/chromium and /usr/bin/chromedriver (apt-get install chromium chromium-driver)");
        Path examples = Path.of("examples").toAbsolutePath();
        Access access = new Access(Access.newToken(), true);
        server = new GuiServer(new Roots(work, List.of(Path.of("").toAbsolutePath())), access, Runs.thisCli(), List.of(examples));
        url = "http://127.0.0.1:" + server.start("127.0.0.1", 0) + "/";
        shots = Path.of(System.getProperty("gui.screenshots", "target/gui-screenshots"));
        Files.createDirectories(shots);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000",
                "--lang=en-US", "--disable-gpu");
        browser = new ChromeDriver(service, options);
        browser.get(url);
    }

    @AfterAll
    static void stop() {
        if (browser != null) browser.quit();
        if (server != null) server.close();
    }

    static WebDriverWait waitUpTo(int seconds) {
        return new WebDriverWait(browser, Duration.ofSeconds(seconds));
    }

    static void set(String key, String value) {
        WebElement el = browser.findElement(By.id("k-" + key));
        if (el.getTagName().equals("select")) {
            new Select(el).selectByValue(value);
        } else {
            // fill through the page so the input event (and the live check) fires as for typing
            ((JavascriptExecutor) browser).executeScript(
                    "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'));", el, value);
        }
    }

    static String text(String id) {
        return browser.findElement(By.id(id)).getText();
    }

    static void screenshot(String name) throws IOException {
        File f = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE);
        Files.copy(f.toPath(), shots.resolve(name), StandardCopyOption.REPLACE_EXISTING);
    }

    @Test @Order(1)
    void theFormComesFromTheKeyRegistryAndShowsTheClisMessages() {
        waitUpTo(20).until(d -> d.findElements(By.cssSelector("#preset option")).size() > 0);
        // every registry key has a field (hidden or not)
        assertEquals(org.lorascripts.config.ConfigKeys.ALL.size(), browser.findElements(By.cssSelector(".field")).size());
        new Select(browser.findElement(By.id("preset"))).selectByValue("quickstart");
        browser.findElement(By.id("load-preset")).click();
        waitUpTo(20).until(d -> text("status").equals("The config is valid."));
        set("learning_rate", "abc");
        // the message the CLI prints for the same value (ValueParser through ConfigLoader)
        waitUpTo(20).until(d -> text("errors").contains("learning_rate must be a number > 0, got 'abc'"));
        assertFalse(browser.findElement(By.id("start")).isEnabled());
        set("learning_rate", "3e-3");
        waitUpTo(20).until(d -> text("status").equals("The config is valid."));
        // the full dry run of the CLI on the form's YAML: data scan and plan
        browser.findElement(By.id("dry-run")).click();
        waitUpTo(120).until(d -> text("dry-run-output").contains("dry run: the config is valid; nothing was trained."));
        assertTrue(text("dry-run-output").contains("total steps"), text("dry-run-output"));
    }

    @Test @Order(2)
    void aShortQuickstartRunStartsStreamsProgressAndFinishes() throws IOException {
        browser.findElement(By.id("advanced")).click();
        set("max_steps", "2");
        set("log_interval", "1");
        set("sample_every_n_steps", "2");
        set("sample_steps", "2");
        set("output_dir", work.resolve("out").toString());
        waitUpTo(20).until(d -> text("yaml").contains("max_steps: 2") && text("status").equals("The config is valid."));
        browser.findElement(By.id("advanced")).click();
        screenshot("gui-train.png");
        browser.findElement(By.id("start")).click();
        waitUpTo(20).until(d -> !d.findElement(By.id("page-runs")).getAttribute("class").contains("hidden"));
        waitUpTo(20).until(d -> text("log").contains("total steps"));
        waitUpTo(400).until(d -> {
            String state = d.findElement(By.id("run-state")).getAttribute("data-state");
            return state != null && !state.equals("running");
        });
        assertEquals("finished", browser.findElement(By.id("run-state")).getAttribute("data-state"), text("log"));
        assertEquals("2 / 2", text("run-step"));
        assertTrue(text("run-loss").matches("[0-9.e+-]+"), text("run-loss"));
        waitUpTo(20).until(d -> d.findElements(By.cssSelector("#samples img")).size() >= 2);
        assertTrue(Files.isRegularFile(work.resolve("out/quickstart.safetensors")));
        assertTrue(text("runs-list").contains("finished"));
        screenshot("gui-runs.png");
    }

    /**
     * The run above was set up in the browser only (the quickstart preset, steps and output folder through the
     * form, Start). The YAML the app wrote for it, trained again by {@code ./lora train --config FILE} (the CLI's
     * Main in a child process, as the app starts it), gives the same LoRA: the same tensor names and values
     * (CPU, seed 42: equal within 1e-6) and the same loss at every step of metrics.jsonl.
     */
    @Test @Order(3)
    void theYamlTheAppWroteTrainsTheSameLoraFromTheCli() throws Exception {
        Path yaml;
        try (var dirs = Files.list(work.resolve(".lora-gui/runs"))) {
            yaml = dirs.map(d -> d.resolve("config.yaml")).filter(Files::isRegularFile)
                    .filter(f -> {
                        try {
                            return Files.readString(f).contains("max_steps: 2");
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    }).findFirst().orElseThrow();
        }
        Path gui = work.resolve("out-gui");
        Files.move(work.resolve("out"), gui);
        List<String> cmd = new java.util.ArrayList<>(Runs.thisCli());
        cmd.addAll(List.of("train", "--config", yaml.toString()));
        Path console = work.resolve("cli-train.log");
        Process p = new ProcessBuilder(cmd).directory(work.toFile()).redirectErrorStream(true).redirectOutput(console.toFile()).start();
        assertTrue(p.waitFor(400, java.util.concurrent.TimeUnit.SECONDS), "the CLI run ends");
        assertEquals(0, p.exitValue(), Files.readString(console));
        Path cli = work.resolve("out");
        try (var a = org.lorascripts.io.SafetensorsFile.open(gui.resolve("quickstart.safetensors"));
             var b = org.lorascripts.io.SafetensorsFile.open(cli.resolve("quickstart.safetensors"))) {
            assertEquals(new java.util.TreeSet<>(a.names()), new java.util.TreeSet<>(b.names()));
            assertTrue(a.names().size() > 10, a.names().toString());
            for (String name : a.names()) {
                double[] x = values(a, name), y = values(b, name);
                assertEquals(x.length, y.length, name);
                for (int i = 0; i < x.length; i++) {
                    assertEquals(x[i], y[i], 1e-6 * Math.max(1, Math.abs(x[i])), name + "[" + i + "]");
                }
            }
        }
        assertEquals(losses(gui), losses(cli));
        assertEquals(2, losses(cli).size(), losses(cli).toString());
    }

    static double[] values(org.lorascripts.io.SafetensorsFile f, String name) {
        var info = f.info(name);
        var data = f.data(name);
        int n = Math.toIntExact(info.numel());
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = switch (info.dtype()) {
                case F32 -> data.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, i);
                case F16 -> org.lorascripts.io.HalfFloats.halfToFloat(data.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, i));
                case BF16 -> org.lorascripts.io.HalfFloats.bfloat16ToFloat(data.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, i));
                default -> throw new AssertionError(name + ": unexpected dtype " + info.dtype());
            };
        }
        return out;
    }

    /** step -> train/loss of a run's logs/metrics.jsonl. */
    static java.util.Map<Long, Double> losses(Path out) throws IOException {
        java.util.Map<Long, Double> m = new java.util.TreeMap<>();
        for (String line : Files.readAllLines(out.resolve("logs/metrics.jsonl"))) {
            var o = org.lorascripts.io.Json.parse(line);
            if (o.path("train/loss").isNumber()) m.put(o.path("step").asLong(), o.path("train/loss").asDouble());
        }
        return m;
    }

    @Test @Order(4)
    void stopSavesACheckpointAndResumeContinuesFromIt() {
        browser.findElement(By.id("tab-train")).click();
        set("max_steps", "400");
        set("sample_every_n_steps", "1000");
        set("output_dir", work.resolve("long").toString());
        waitUpTo(20).until(d -> text("yaml").contains("max_steps: 400") && text("status").equals("The config is valid."));
        browser.findElement(By.id("start")).click();
        waitUpTo(120).until(d -> text("run-step").matches("[1-9][0-9]* / 400"));
        browser.findElement(By.id("stop")).click();
        waitUpTo(120).until(d -> "stopped".equals(d.findElement(By.id("run-state")).getAttribute("data-state")));
        assertTrue(text("log").contains("--resume latest"), text("log"));
        assertTrue(Files.isDirectory(work.resolve("long/checkpoints")));
        browser.findElement(By.id("resume")).click();
        waitUpTo(120).until(d -> text("log").contains("resuming from"));
        waitUpTo(20).until(d -> "running".equals(d.findElement(By.id("run-state")).getAttribute("data-state")));
        browser.findElement(By.id("stop")).click();
        waitUpTo(120).until(d -> "stopped".equals(d.findElement(By.id("run-state")).getAttribute("data-state")));
    }

    @Test @Order(5)
    void aCaptionEditedOnTheDatasetPageChangesTheFile() throws IOException {
        Path data = Files.createDirectories(work.resolve("data"));
        Files.copy(Path.of("examples/quickstart_data/blue_square.png"), data.resolve("blue_square.png"));
        Files.copy(Path.of("examples/quickstart_data/cyan_circle.png"), data.resolve("cyan_circle.png"));
        Files.writeString(data.resolve("blue_square.txt"), "a blue square, outline style\n");
        browser.findElement(By.id("tab-dataset")).click();
        WebElement path = browser.findElement(By.id("dataset-path"));
        path.clear();
        path.sendKeys(data.toString());
        browser.findElement(By.id("open-dataset")).click();
        waitUpTo(20).until(d -> d.findElements(By.cssSelector("#dataset-items .item")).size() == 2);
        assertTrue(text("tag-freq").contains("outline style 1"), text("tag-freq"));
        WebElement card = browser.findElement(By.cssSelector("#dataset-items .item[data-name='cyan_circle.png']"));
        card.findElement(By.tagName("textarea")).sendKeys("a cyan circle, outline style");
        waitUpTo(5).until(d -> text("tag-freq").contains("outline style 2"));
        card.findElement(By.tagName("button")).click();
        waitUpTo(20).until(d -> Files.exists(data.resolve("cyan_circle.txt")));
        assertEquals("a cyan circle, outline style", Files.readString(data.resolve("cyan_circle.txt")));
        waitUpTo(20).until(d -> ((Boolean) ((JavascriptExecutor) d).executeScript(
                "return [...document.querySelectorAll('#dataset-items img')].every(i => i.complete && i.naturalWidth > 0)")));
        // a bulk tool of the CLI (captions replace) on every .txt caption of the folder
        new Select(browser.findElement(By.id("bulk-op"))).selectByValue("replace");
        browser.findElement(By.id("bulk-a")).sendKeys("outline style");
        browser.findElement(By.id("bulk-b")).sendKeys("line art");
        browser.findElement(By.id("bulk-run")).click();
        waitUpTo(120).until(d -> text("tag-freq").contains("line art 2"));
        assertEquals("a blue square, line art", Files.readString(data.resolve("blue_square.txt")));
        assertEquals("a cyan circle, line art", Files.readString(data.resolve("cyan_circle.txt")));
        screenshot("gui-dataset.png");
        // the labeler (label --model none: the trigger word alone), its console, then the captions reloaded
        browser.findElement(By.id("lb-model")).sendKeys("none");
        browser.findElement(By.id("lb-trigger")).sendKeys("shapes");
        browser.findElement(By.id("lb-overwrite")).click();
        browser.findElement(By.id("lb-run")).click();
        waitUpTo(120).until(d -> text("tag-freq").contains("shapes 2"));
        assertTrue(text("lb-output").contains("labeled 2"), text("lb-output"));
        // the end of the SSE stream: images done of all, the progress bar full
        assertTrue(text("lb-status").startsWith("done 2 / 2"), text("lb-status"));
        assertEquals("2", browser.findElement(By.id("lb-progress")).getAttribute("value"));
        assertEquals("shapes", Files.readString(data.resolve("cyan_circle.txt")).strip());
    }

    @Test @Order(6)
    void theTextPreviewShowsWhatTrainingTrainsOn() throws IOException {
        Path chat = work.resolve("chat.jsonl");
        Files.writeString(chat, "{\"messages\": [{\"role\": \"user\", \"content\": \"How long does green tea steep?\"},"
                + " {\"role\": \"assistant\", \"content\": \"Two to three minutes.\"}]}\n");
        WebElement path = browser.findElement(By.id("tp-path"));
        path.clear();
        path.sendKeys(chat.toString());
        new Select(browser.findElement(By.id("tp-template"))).selectByValue("chatml");
        browser.findElement(By.id("tp-run")).click();
        waitUpTo(60).until(d -> d.findElements(By.cssSelector("#tp-examples .tp-example")).size() == 1);
        assertTrue(text("tp-status").contains("builtin:tiny-llama") && text("tp-status").contains("chatml"), text("tp-status"));
        String trained = String.join("", browser.findElements(By.cssSelector("#tp-examples .tok-target")).stream().map(WebElement::getText).toList());
        String context = String.join("", browser.findElements(By.cssSelector("#tp-examples .tok-context")).stream().map(WebElement::getText).toList());
        assertTrue(trained.contains("Two to three minutes."), trained);
        assertFalse(trained.contains("green tea steep"), trained);
        assertTrue(context.contains("<|im_start|>user") && context.contains("How long does green tea steep?"), context);
        // train_on_inputs: the question is trained on too
        browser.findElement(By.id("tp-inputs")).click();
        browser.findElement(By.id("tp-run")).click();
        waitUpTo(60).until(d -> d.findElements(By.cssSelector("#tp-examples .tok-target")).stream().anyMatch(e -> e.getText().contains("green tea steep")));
        browser.findElement(By.id("tp-inputs")).click();
        browser.findElement(By.id("tp-run")).click();
        waitUpTo(60).until(d -> d.findElements(By.cssSelector("#tp-examples .tok-context")).stream().anyMatch(e -> e.getText().contains("green tea steep")));
        ((JavascriptExecutor) browser).executeScript("document.getElementById('tp-status').scrollIntoView()");
        screenshot("gui-text-preview.png");
        ((JavascriptExecutor) browser).executeScript("window.scrollTo(0, 0)");
    }

    @Test @Order(7)
    void theModelsPageShowsInfoAndSamplesTheLoraTrainedAbove() throws IOException {
        String lora = work.resolve("out/quickstart.safetensors").toString();
        browser.findElement(By.id("tab-models")).click();
        WebElement info = browser.findElement(By.id("info-path"));
        info.clear();
        info.sendKeys(lora);
        browser.findElement(By.id("info-run")).click();
        waitUpTo(120).until(d -> text("info-output").contains("ss_output_name"));
        WebElement pg = browser.findElement(By.id("pg-lora"));
        pg.clear();
        pg.sendKeys(lora);
        WebElement steps = browser.findElement(By.id("pg-steps"));
        steps.clear();
        steps.sendKeys("4");
        browser.findElement(By.id("pg-run")).click();
        waitUpTo(300).until(d -> d.findElements(By.cssSelector("#pg-images img")).size() == 1);
        waitUpTo(20).until(d -> ((Boolean) ((JavascriptExecutor) d).executeScript(
                "const i = document.querySelector('#pg-images img'); return i.complete && i.naturalWidth > 0")));
        // the text playground on the built-in text model (no adapter: only the base completion)
        browser.findElement(By.id("tg-adapter")).clear();
        WebElement max = browser.findElement(By.id("tg-max"));
        max.clear();
        max.sendKeys("5");
        browser.findElement(By.id("tg-run")).click();
        waitUpTo(120).until(d -> d.findElement(By.id("tg-run")).isEnabled() && !text("tg-base-output").isBlank());
        assertFalse(text("tg-base-output").contains("error"), text("tg-base-output"));
        assertEquals("", text("tg-lora-output"));
        screenshot("gui-models.png");
    }

    @Test @Order(8)
    void theLabelsSwitchToSimplifiedChinese() {
        new Select(browser.findElement(By.id("lang"))).selectByValue("zh");
        assertEquals("训练", text("tab-train"));
        assertEquals("任务", text("tab-runs"));
        new Select(browser.findElement(By.id("lang"))).selectByValue("en");
        assertEquals("Train", text("tab-train"));
    }
}
