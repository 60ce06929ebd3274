package org.lorascripts.tasks.sd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/** A kohya dataset (N_name subsets, reg_data_dir) through the SD LoRA task: epoch size, loss weights, metadata. */
class KohyaDatasetTrainingTest {
    /** train: 10_mystyle (3 images, 2 with .txt), 2_other (2 images); reg: 1_person (4 images). */
    private static Path[] layout(Path dir) throws IOException {
        Path train = dir.resolve("train");
        Path reg = dir.resolve("reg");
        Files.createDirectories(train.resolve("10_mystyle"));
        Files.createDirectories(train.resolve("2_other"));
        Files.createDirectories(reg.resolve("1_person"));
        for (int i = 0; i < 3; i++) SdTrainingFixture.writeImage(train.resolve("10_mystyle/s" + i + ".png"), i);
        Files.writeString(train.resolve("10_mystyle/s0.txt"), "mystyle, red");
        Files.writeString(train.resolve("10_mystyle/s1.txt"), "mystyle, blue");
        for (int i = 0; i < 2; i++) SdTrainingFixture.writeImage(train.resolve("2_other/o" + i + ".png"), 3 + i);
        for (int i = 0; i < 4; i++) SdTrainingFixture.writeImage(reg.resolve("1_person/p" + i + ".png"), 5 + i);
        return new Path[] {train, reg};
    }

    @Test
    void weightedMultipliesEachExamplesLoss() {
        try (Scope s = Scope.open()) {
            Tensor loss = Torch.of(new float[] {2f, 4f, 8f}, 3);
            assertArrayEquals(new float[] {2f, 1f, 8f}, DiffusionObjective.weighted(loss, new double[] {1, 0.25, 1}).toFloatArray());
            assertArrayEquals(new float[] {2f, 4f, 8f}, DiffusionObjective.weighted(loss, new double[] {1, 1, 1}).toFloatArray());
        }
    }

    @Test
    void repeatsAndRegImagesMakeTheEpochAndRegLossIsWeighted(@TempDir Path dir) throws Exception {
        Path[] d = layout(dir);
        Map<String, Object> settings = SdTrainingFixture.settings(d[0], dir.resolve("out"));
        settings.put("reg_data_dir", d[1].toString());
        settings.put("prior_loss_weight", 0.25);
        settings.put("batch_size", 4);
        float[] weighted = new float[2];
        try (SdLoraTask task = SdTrainingFixture.task(settings)) {
            assertEquals(9, task.trainSize());   // 5 train + 4 reg images
            List<int[]> batches = task.epochBatches(0, 4);
            int examples = batches.stream().mapToInt(b -> b.length).sum();
            assertEquals(68, examples);          // 3 x 10 + 2 x 2 = 34 train, 34 reg (kohya's matching)
            assertEquals(17, batches.size());
            Map<String, String> m = task.trainingMetadata();
            assertEquals("34", m.get("ss_num_train_images"));
            assertEquals("4", m.get("ss_num_reg_images"));
            assertEquals("17", m.get("ss_num_batches_per_epoch"));
            assertEquals("{\"10_mystyle\":{\"n_repeats\":10,\"img_count\":3},\"2_other\":{\"n_repeats\":2,\"img_count\":2}}",
                    m.get("ss_dataset_dirs"));
            assertEquals("{\"1_person\":{\"n_repeats\":1,\"img_count\":4}}", m.get("ss_reg_dataset_dirs"));
            assertFalse(m.get("ss_tag_frequency").contains("person"), m.get("ss_tag_frequency"));
            weighted[0] = loss(task, 0);
            weighted[1] = loss(task, 5);
        }
        settings.put("prior_loss_weight", 1.0);
        try (SdLoraTask task = SdTrainingFixture.task(settings)) {
            assertEquals(loss(task, 0), weighted[0], 0f);              // a train image: weight 1 either way
            assertEquals(loss(task, 5) * 0.25f, weighted[1], 1e-6f);   // a reg image: x prior_loss_weight
        }
    }

    /** The same folders given as subsets: (kohya's dataset config) train exactly as the N_name layout does. */
    @Test
    void subsetsTrainAsTheFolderLayout(@TempDir Path dir) throws Exception {
        Path[] d = layout(dir);
        Map<String, Object> folders = SdTrainingFixture.settings(d[0], dir.resolve("out"));
        folders.put("reg_data_dir", d[1].toString());
        Map<String, Object> subsets = SdTrainingFixture.settings(d[0], dir.resolve("out2"));
        subsets.remove("train_data_dir");
        subsets.put("subsets", List.of(
                Map.of("image_dir", d[0].resolve("10_mystyle").toString(), "num_repeats", 10, "class_tokens", "mystyle"),
                Map.of("image_dir", d[0].resolve("2_other").toString(), "num_repeats", 2, "class_tokens", "other"),
                Map.of("image_dir", d[1].resolve("1_person").toString(), "class_tokens", "person", "is_reg", true)));
        float[] expected = new float[3];
        Map<String, String> folderMeta;
        try (SdLoraTask task = SdTrainingFixture.task(folders)) {
            folderMeta = task.trainingMetadata();
            for (int k = 0; k < 3; k++) expected[k] = loss(task, new int[] {0, 4, 6}[k]);
        }
        try (SdLoraTask task = SdTrainingFixture.task(subsets)) {
            assertEquals(9, task.trainSize());
            assertEquals(68, task.epochBatches(0, 4).stream().mapToInt(b -> b.length).sum());
            Map<String, String> m = task.trainingMetadata();
            for (String key : List.of("ss_num_train_images", "ss_num_reg_images", "ss_num_batches_per_epoch", "ss_dataset_dirs",
                    "ss_reg_dataset_dirs")) {
                assertEquals(folderMeta.get(key), m.get(key), key);
            }
            for (int k = 0; k < 3; k++) assertEquals(expected[k], loss(task, new int[] {0, 4, 6}[k]), 0f);
        }
    }

    private static float loss(SdLoraTask task, int k) {
        try (Scope s = Scope.open(); Autograd.GradMode g = Autograd.noGrad()) {
            Rng.manualSeed(7);
            return task.lossSum(new int[] {k}, false).toFloatArray()[0];
        }
    }
}
