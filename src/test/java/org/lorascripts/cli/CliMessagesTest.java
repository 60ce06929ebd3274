package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.ffi.DeviceOutOfMemoryException;
import picocli.CommandLine;

/**
 * One error format for every command ({@code error: <message>}, at most one {@code hint:} line, exit 2
 * for the user's mistakes) and one name per option: --output everywhere, --lora for LoRAs, with the old
 * names --adapter and --out still parsed but shown nowhere.
 */
class CliMessagesTest {
    @TempDir Path dir;

    private static CliTrainCommandTest.Run lora(String... args) {
        return CliTrainCommandTest.run(Main.newCommandLine(), args);
    }

    private static void assertErrorAndHint(CliTrainCommandTest.Run r, String error, String hintStart) {
        assertEquals(ErrorReporter.USER_ERROR, r.code(), r.err());
        List<String> lines = r.err().lines().toList();
        assertEquals(2, lines.size(), "an error line and a hint line:\n" + r.err());
        assertEquals("error: " + error, lines.get(0));
        assertTrue(lines.get(1).startsWith("hint: " + hintStart), r.err());
    }

    @Test
    void unknownOptionsAreOneErrorLineWithAHintInEveryCommand() {
        for (String command : List.of("train", "sample", "generate", "merge", "label", "info", "doctor")) {
            assertErrorAndHint(lora(command, "--no-such-option"), "unknown option: '--no-such-option'", "");
        }
        assertErrorAndHint(lora("captions", "freq", "--input", dir.toString(), "--no-such-option"),
                "unknown option: '--no-such-option'", "'./lora captions freq --help' lists the options");
    }

    @Test
    void parseErrorsUsePicocliWordsInOurFormat() {
        assertErrorAndHint(lora("trian"), "unmatched argument at index 0: 'trian'", "did you mean train");
        assertErrorAndHint(lora("captions", "frq"), "unmatched argument at index 1: 'frq'", "did you mean freq?");
        assertErrorAndHint(lora("sample", "--base", "b", "--promt", "p"), "unknown options: '--promt', 'p'", "did you mean --prompt");
        assertErrorAndHint(lora("sample", "--base", "builtin:tiny-sd"), "missing required option: '--prompt=TEXT'",
                "'./lora sample --help' lists the options");
        assertErrorAndHint(lora("sample", "--base", "b", "--prompt", "p", "--steps", "many"),
                "invalid value for option '--steps': 'many' is not an int", "'./lora sample --help'");
        assertErrorAndHint(lora("help", "nosuch"), "unknown subcommand 'nosuch'", "'./lora --help' lists the commands");
    }

    @Test
    void loraIsTheNameAndAdapterAHiddenAlias() {
        CommandLine cmd = Main.newCommandLine();
        cmd.parseArgs("generate", "--base", "b", "--adapter", "old/dir", "--prompt", "p");
        GenerateCommand generate = cmd.getSubcommands().get("generate").getCommand();
        assertEquals(Path.of("old/dir"), LoraFolderOption.of(generate.lora).orElseThrow());

        cmd = Main.newCommandLine();
        cmd.parseArgs("merge", "--base", "b", "--adapter", "a", "--out", "o");
        MergeCommand merge = cmd.getSubcommands().get("merge").getCommand();
        assertEquals(java.util.List.of("a"), merge.lora.all());
        assertEquals(Path.of("o"), merge.output.folder());

        cmd = Main.newCommandLine();
        cmd.parseArgs("merge", "--base", "b", "--lora", "a", "-o", "o");
        merge = cmd.getSubcommands().get("merge").getCommand();
        assertEquals(java.util.List.of("a"), merge.lora.all());
        assertEquals(Path.of("o"), merge.output.folder());

        cmd = Main.newCommandLine();
        cmd.parseArgs("sample", "--base", "b", "--prompt", "p", "--out", "old");
        assertEquals(Path.of("old"), SampleCommand.Output.folder(cmd.getSubcommands().get("sample").<SampleCommand>getCommand().output));
        cmd = Main.newCommandLine();
        cmd.parseArgs("sample", "--base", "b", "--prompt", "p");
        assertEquals(Path.of("samples"), SampleCommand.Output.folder(cmd.getSubcommands().get("sample").<SampleCommand>getCommand().output));
        cmd = Main.newCommandLine();
        cmd.parseArgs("label", "--input", "d", "-o", "c.csv");
        assertEquals(Path.of("c.csv"), cmd.getSubcommands().get("label").<LabelCommand>getCommand().output);
    }

    @Test
    void bothNamesAtOnceOrNeitherIsAnError() {
        CliTrainCommandTest.Run both = lora("merge", "--base", "b", "--lora", "a", "--adapter", "c", "-o", "o");
        assertEquals(2, both.code());
        assertTrue(both.err().startsWith("error: --lora=LORA[:W], --adapter=DIR are mutually exclusive"), both.err());
        CliTrainCommandTest.Run none = lora("merge", "--base", "b", "-o", "o");
        assertErrorAndHint(none, "missing required argument (specify one of these): (--lora=LORA[:W] [--lora=LORA[:W]]...)", "'./lora merge --help'");
    }

    @Test
    void messageLinesStartingWithHintBecomeTheHintLine() {
        StringWriter err = new StringWriter();
        int code = ErrorReporter.report(new DeviceOutOfMemoryException("CUDA out of memory. Tried to allocate 2 GiB"), new PrintWriter(err), false);
        assertEquals(2, code);
        assertEquals("error: out of device memory: CUDA out of memory. Tried to allocate 2 GiB\nhint: " + DeviceOutOfMemoryException.HINT + "\n",
                err.toString());
    }

    @Test
    void fileSystemErrorsSayWhatIsWrongWithTheFile() {
        StringWriter err = new StringWriter();
        ErrorReporter.reportUserError(new NoSuchFileException("/models/x.safetensors"), new PrintWriter(err));
        assertEquals("error: /models/x.safetensors: no such file or folder\n", err.toString());
    }

    @Test
    void captionsAndLabelErrorsUseTheSamePrefix() {
        CliTrainCommandTest.Run captions = lora("captions", "dedupe", "--input", dir.resolve("none").toString());
        assertEquals(2, captions.code());
        assertEquals("error: input folder " + dir.resolve("none") + " does not exist: check the --input path\n", captions.err());
        CliTrainCommandTest.Run label = lora("label", "--input", dir.toString());
        assertEquals(2, label.code());
        assertTrue(label.err().startsWith("error: no tagger model given"), label.err());
        assertEquals(1, label.err().lines().count(), label.err());
    }

    @Test
    void aBuiltinModelOfTheOtherTaskIsNamedWithTheRightArticle() throws Exception {
        Path config = Files.writeString(dir.resolve("c.yaml"), "base_model: builtin:tiny-sd\ntask_type: text-generation\ntrain_data_dir: d\n");
        CliTrainCommandTest.Run r = lora("train", "--config", config.toString(), "--dry-run");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("base_model builtin:tiny-sd is an image-generation model but task_type is text-generation"), r.err());
    }
}
