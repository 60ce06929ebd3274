package org.lorascripts.label;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.lorascripts.io.image.RgbaImage;

/**
 * A SmilingWolf WD14 tagger (wd-v1-4-*, wd-*-tagger-v3, …) run through ONNX Runtime on the CPU: a
 * folder with {@code model.onnx} (input NHWC (N, H, W, 3) BGR 0..255, output per-tag probabilities —
 * the exported graphs end in a sigmoid) and {@code selected_tags.csv}.
 */
public final class Wd14Tagger implements ImageTagger {
    public static final String MODEL_FILE = "model.onnx";

    private final OrtEnvironment env;
    private final OrtSession session;
    private final String inputName;
    private final int size;
    private final int maxBatch;
    private final List<SelectedTags.Tag> tags;
    private final TagSelection selection;

    private Wd14Tagger(OrtEnvironment env, OrtSession session, String inputName, int size, int maxBatch,
                       List<SelectedTags.Tag> tags, TagSelection selection) {
        this.env = env;
        this.session = session;
        this.inputName = inputName;
        this.size = size;
        this.maxBatch = maxBatch;
        this.tags = tags;
        this.selection = selection;
    }

    public static Wd14Tagger open(Path folder, TagSelection selection) {
        if (!Files.isDirectory(folder)) {
            throw new LabelException("tagger folder " + folder + " does not exist: pass --model with a folder holding "
                    + MODEL_FILE + " and " + SelectedTags.FILE_NAME);
        }
        Path model = folder.resolve(MODEL_FILE);
        if (!Files.isRegularFile(model)) {
            throw new LabelException("tagger folder " + folder + " has no " + MODEL_FILE
                    + ": use a SmilingWolf wd tagger folder holding model.onnx and selected_tags.csv");
        }
        List<SelectedTags.Tag> tags = SelectedTags.read(folder.resolve(SelectedTags.FILE_NAME));
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession session = null;
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            session = env.createSession(model.toString(), options);
            Map.Entry<String, NodeInfo> input = session.getInputInfo().entrySet().iterator().next();
            if (!(input.getValue().getInfo() instanceof TensorInfo info) || info.getShape().length != 4
                    || info.getShape()[3] != 3 || info.getShape()[1] <= 0 || info.getShape()[1] != info.getShape()[2]) {
                throw new LabelException(model + ": expected an NHWC input (N, H, H, 3) like SmilingWolf's taggers, found "
                        + describe(input.getValue()));
            }
            long[] shape = info.getShape();
            NodeInfo output = session.getOutputInfo().values().iterator().next();
            if (output.getInfo() instanceof TensorInfo out && out.getShape().length == 2
                    && out.getShape()[1] > 0 && out.getShape()[1] != tags.size()) {
                throw new LabelException(model + " has " + out.getShape()[1] + " outputs but its " + SelectedTags.FILE_NAME
                        + " lists " + tags.size() + " tags: use the selected_tags.csv that came with this model");
            }
            int maxBatch = shape[0] > 0 ? (int) shape[0] : Integer.MAX_VALUE;   // -1 marks a dynamic batch
            return new Wd14Tagger(env, session, input.getKey(), (int) shape[1], maxBatch, tags, selection);
        } catch (OrtException e) {
            closeQuietly(session);
            throw new LabelException(model + " could not be loaded by ONNX Runtime (" + firstLine(e.getMessage())
                    + "): re-download the model file");
        } catch (LabelException e) {
            closeQuietly(session);
            throw e;
        }
    }

    private static String describe(NodeInfo node) {
        return node.getInfo() instanceof TensorInfo t ? Arrays.toString(t.getShape()) : node.getInfo().toString();
    }

    private static String firstLine(String s) {
        if (s == null) return "no message";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    private static void closeQuietly(OrtSession session) {
        if (session == null) return;
        try {
            session.close();
        } catch (OrtException ignored) {
            // Already failing with a clearer message.
        }
    }

    /** Input side length (H = W) read from the model. */
    public int inputSize() {
        return size;
    }

    @Override
    public int maxBatchSize() {
        return maxBatch;
    }

    @Override
    public List<List<String>> tag(List<RgbaImage> images) {
        List<List<String>> out = new ArrayList<>();
        for (float[] p : predict(images)) out.add(selection.select(tags, p));
        return out;
    }

    /** Per image, the model's probability of each selected_tags.csv row. */
    public float[][] predict(List<RgbaImage> images) {
        int n = images.size();
        if (n == 0) return new float[0][];
        int per = size * size * 3;
        FloatBuffer batch = FloatBuffer.allocate(n * per);
        for (RgbaImage image : images) batch.put(Wd14Preprocessor.toBgr(image, size));
        batch.flip();
        try (OnnxTensor input = OnnxTensor.createTensor(env, batch, new long[] {n, size, size, 3});
             OrtSession.Result result = session.run(Map.of(inputName, input))) {
            return probabilities(result.get(0), n);
        } catch (OrtException e) {
            throw new LabelException("the tagger model failed on a batch (" + firstLine(e.getMessage())
                    + "): try --batch-size 1 or another model");
        }
    }

    private float[][] probabilities(OnnxValue value, int n) throws OrtException {
        if (value.getValue() instanceof float[][] p && p.length == n) return p;
        throw new LabelException("the tagger model's first output is not (N, tags) float32: use a SmilingWolf wd tagger");
    }

    @Override
    public void close() {
        closeQuietly(session);
    }
}
