package org.lorascripts.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.lorascripts.demo.ShapeScenes;
import org.lorascripts.io.PngWriter;
import org.lorascripts.models.sd.clip.ClipTextConfig;
import org.lorascripts.models.sd.clip.ClipTextModel;
import org.lorascripts.models.sd.clip.ClipTextModelWithProjection;
import org.lorascripts.models.sd.load.LdmCheckpointWriter;
import org.lorascripts.models.sd.unet.UNet2DConditionModel;
import org.lorascripts.models.sd.unet.UNetConfig;
import org.lorascripts.models.sd.vae.AutoencoderKL;
import org.lorascripts.models.sd.vae.VaeConfig;
import org.lorascripts.nn.RandomWeights;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;

/**
 * Writes an SDXL base single file at full size with random weights, in the key layout people download
 * ({@code model.diffusion_model.*}, {@code first_stage_model.*}, {@code conditioner.embedders.0.transformer.*},
 * {@code conditioner.embedders.1.model.*} with OpenCLIP's fused in_proj) and no metadata, so the loader
 * infers everything from the shapes as it must for a real file; optionally a small training set of
 * 512×512 captioned images. For the GPU machine, where real weights cannot be downloaded: the file
 * then trains through {@code ./lora train} exactly as a real SDXL base would.
 * Usage: {@code SdxlRandomCheckpoint OUT.safetensors [DATA_DIR [IMAGES=8]] [dtype=f16]}.
 */
public final class SdxlRandomCheckpoint {
    private SdxlRandomCheckpoint() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: SdxlRandomCheckpoint OUT.safetensors [DATA_DIR [IMAGES=8]] [dtype=f16]");
            System.exit(2);
        }
        Path out = Path.of(args[0]);
        Device dev = Cuda.isAvailable() ? Device.cuda(0) : Device.CPU;
        DType dt = DType.parse(args.length > 3 ? args[3] : "f16");
        long t0 = System.nanoTime();
        try (Autograd.GradMode g = Autograd.noGrad(); Scope s = Scope.open();
             Weights unetW = new Weights(new RandomWeights(1).onDevice(), dev, dt);
             Weights vaeW = new Weights(RandomWeights.fanIn(2).onDevice(), dev, dt);
             Weights te1W = new Weights(new RandomWeights(3).onDevice(), dev, dt);
             Weights te2W = new Weights(new RandomWeights(4).onDevice(), dev, dt)) {
            new UNet2DConditionModel(unetW, UNetConfig.sdxl());                                   // 2,567,463,684 parameters
            new AutoencoderKL(vaeW, sdxlVae());
            new ClipTextModel(te1W, ClipTextConfig.sdxlClipL());
            new ClipTextModelWithProjection(te2W, ClipTextConfig.sdxlBigG(), 1280);
            LdmCheckpointWriter.writeSdxl(out, UNetConfig.sdxl(), unetW.loadedTensors(), sdxlVae(), vaeW.loadedTensors(),
                    te1W.loadedTensors(), te2W.loadedTensors(), new LinkedHashMap<>(Map.of("format", "pt")), dt);
        }
        System.out.printf("wrote %s (%.2f GiB, %s) in %.0fs%n", out, Files.size(out) / (double) (1L << 30), dt.displayName(),
                (System.nanoTime() - t0) / 1e9);
        if (args.length > 1) writeImages(Path.of(args[1]), args.length > 2 ? Integer.parseInt(args[2]) : 8);
    }

    /** SD's VAE with SDXL's scaling factor (what the loader infers for an SDXL file without a config). */
    static VaeConfig sdxlVae() {
        VaeConfig v = VaeConfig.sd();
        return new VaeConfig(v.inChannels(), v.outChannels(), v.latentChannels(), v.blockOutChannels(), v.layersPerBlock(), v.normNumGroups(),
                1024, 0.13025);
    }

    /** {@code n} captioned 512×512 shape scenes and their metadata.csv. */
    static void writeImages(Path dir, int n) throws Exception {
        Files.createDirectories(dir);
        StringBuilder csv = new StringBuilder("file_name,text\n");
        for (int i = 0; i < n; i++) {
            ShapeScenes.Scene sc = ShapeScenes.scene(7, i);
            String file = "scene_" + i + ".png";
            PngWriter.write(dir.resolve(file), ShapeScenes.render(sc, 512, ShapeScenes.Style.PLAIN), 512, 512, PngWriter.Channels.RGB);
            csv.append(file).append(",\"").append(sc.caption()).append("\"\n");
        }
        Files.writeString(dir.resolve("metadata.csv"), csv.toString(), StandardCharsets.UTF_8);
        System.out.println("wrote " + n + " images and metadata.csv to " + dir);
    }

}
