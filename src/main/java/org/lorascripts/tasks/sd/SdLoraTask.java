package org.lorascripts.tasks.sd;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Set;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.lorascripts.config.MixedPrecision;
import org.lorascripts.config.BaseModel;
import org.lorascripts.config.TrainConfig;
import org.lorascripts.data.BucketBatchSampler;
import org.lorascripts.data.ImageBatch;
import org.lorascripts.data.ImageCaptionDataset;
import org.lorascripts.data.ImageDatasetOptions;
import org.lorascripts.data.TrainValSplit;
import org.lorascripts.config.NetworkType;
import org.lorascripts.lora.AdapterNetwork;
import org.lorascripts.lora.KohyaLoraWriter;
import org.lorascripts.lora.LoraAdapter;
import org.lorascripts.lora.LycorisAdapter;
import org.lorascripts.lora.LycorisFiles;
import org.lorascripts.lora.LycorisNetwork;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.LoraSpec;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.train.SampleSink;
import org.lorascripts.train.TrainingDevice;
import org.lorascripts.train.TrainingException;
import org.lorascripts.train.TrainingTask;
import org.lorascripts.nn.NamedParam;
import org.lorascripts.models.sd.SdLoraTargets;
import org.lorascripts.models.sd.SdFamily;
import org.lorascripts.models.sd.SdPipeline;
import org.lorascripts.models.sd.sampling.SamplePrompt;
import org.lorascripts.models.sd.sampling.SdImageGenerator;
import org.lorascripts.models.sd.unet.AddedConditions;
import org.lorascripts.models.sd.unet.UNetConfig;

/**
 * Stable Diffusion 1.x / 2.x and SDXL LoRA training as kohya's {@code train_network.py} / {@code sdxl_train_network.py} do it: frozen UNet,
 * VAE and CLIP text encoder in the compute dtype, kohya's LoRA targets ({@link SdLoraTargets}),
 * latents cached once ({@link LatentCache}), text states cached per caption when the text encoder is
 * frozen and captions never change, the denoising loss of {@link DiffusionObjective}, batches that
 * never mix aspect-ratio buckets, and a kohya-format export ({@code lora_unet_*}, {@code lora_te_*},
 * {@code ss_*} metadata) that AUTOMATIC1111 and ComfyUI load.
 *
 * <p>Trainable parameters are named {@code unet.<module>.lora_down.weight} and
 * {@code te.<module>...} (SDXL's second encoder: {@code te2.<module>...}); their learning rates are unet_lr and
 * text_encoder_lr (one rate, or SDXL's [TE1, TE2]), as scales of the schedule's learning_rate.
 */
public final class SdLoraTask implements TrainingTask {
    /** One split: examples {@code indices} of {@code dataset}, with their cached latents when caching. */
    private record Split(ImageCaptionDataset dataset, int[] indices, LatentCache cache) {
        int size() { return indices.length; }

        /** The dataset indices of these split examples. */
        int[] datasetIndices(int[] examples) {
            int[] idx = new int[examples.length];
            for (int k = 0; k < idx.length; k++) idx[k] = indices[examples[k]];
            return idx;
        }
    }

    private final TrainConfig config;
    private final SdPipeline pipeline;
    private final AdapterNetwork unetNet;          // LoraNetwork, or LycorisNetwork for network_type loha / lokr
    private final AdapterNetwork teNet;            // null unless train_text_encoder
    private final AdapterNetwork te2Net;           // SDXL's second text encoder; null unless SDXL and train_text_encoder
    private final List<NamedParam> params = new ArrayList<>();
    private final Split train;
    private final Split val;                    // size 0 without validation
    private final Map<String, SdPipeline.Conditioning> textCache;   // caption → (1, L, D) and SDXL's (1, P); null when captions or the encoder change
    private final DiffusionObjective objective;
    private final SdImageGenerator generator;
    private final Map<String, String> metadata;
    private final int stepsPerEpoch;
    private int epoch;
    private final Map<Integer, Tensor> baseImages = new HashMap<>();
    private boolean sampledOnce;

    public SdLoraTask(TrainConfig config) {
        this(config, line -> System.out.println(line));
    }

    /** @param log where progress notes and dataset warnings go (one line each) */
    public SdLoraTask(TrainConfig requested, Consumer<String> log) {
        long started = System.currentTimeMillis();
        Device device = TrainingDevice.resolve(requested.loop().device());
        this.pipeline = openPipeline(requested, device);
        // the family's defaults (SDXL's buckets) apply from here on: dataset, metadata and the plan agree
        TrainConfig config = SdFamilyDefaults.resolve(requested, pipeline.family());
        this.config = config;
        try {
            for (String note : pipeline.checkpoint().notes()) log.accept("note: " + note);
            if (config.image().buckets().enabled() && pipeline.family() == SdFamily.SDXL) {
                log.accept("note: buckets " + SdFamilyDefaults.bucketRange(requested, pipeline.family()));
            }
            SdFamilyDefaults.textEncoderLrWarning(config, pipeline.family()).ifPresent(w -> log.accept("warning: " + w));
            if (pipeline.family() == SdFamily.SDXL && !(config.model().baseModel() instanceof BaseModel.Builtin)) {   // the demo model is 64x64
                String note = SdxlConditioning.resolutionNote(config.image().resolution().width(), config.image().resolution().height());
                if (note != null) log.accept("note: " + note);
            }
            ImageDatasetOptions options = ImageDatasetOptions.of(config);
            ImageCaptionDataset ds = ImageCaptionDataset.open(options, w -> log.accept("warning: " + w));
            int[][] split = withReg(splitIndices(config, ds.trainImageCount()), ds);
            if (ds.isKohyaLayout() || ds.size() > ds.trainImageCount()) {
                for (String line : ds.planLines()) log.accept(line.strip());
            }
            ImageCaptionDataset valDs = config.data().valDataDir()
                    .map(dir -> ImageCaptionDataset.open(withDir(options, dir), w -> log.accept("warning: validation data: " + w)))
                    .orElse(ds);
            int[] valIdx = valDs == ds ? split[1] : all(valDs.size());

            // latents and text states first, while the UNet is not loaded: the VAE and the frozen text encoders are freed
            // before it takes their place, so the caching phase's peak and the training phase's do not add up
            LatentCache trainCache = null, valCache = null;
            if (config.image().cacheLatents()) {
                Optional<Path> disk = config.image().cacheLatentsToDisk() ? Optional.of(ds.options().trainDataDir().resolve(".lora-cache")) : Optional.empty();
                trainCache = LatentCache.build(ds, pipeline, disk, log);
                log.accept("cached latents of " + ds.size() + " images (" + trainCache.encoded() + " encoded, " + trainCache.reused() + " from disk)");
                if (valDs != ds && valIdx.length > 0) {
                    valCache = LatentCache.build(valDs, pipeline, disk.map(d -> valDs.options().trainDataDir().resolve(".lora-cache")), log);
                } else {
                    valCache = trainCache;
                }
                if (config.sample().prompts().isEmpty()) pipeline.dropVae();
            }
            this.train = new Split(ds, split[0], trainCache);
            this.val = new Split(valDs, valIdx, valCache);

            TrainConfig.ImageData image = config.image();
            boolean fixedCaptions = image.captionDropoutRate() == 0 && !image.shuffleCaption() && image.captionTagDropoutRate() == 0
                    && config.data().subsets().stream().allMatch(s -> s.captionDropoutRate() == 0 && !s.shuffleCaption()
                            && s.captionTagDropoutRate() == 0);
            this.textCache = !config.lora().trainTextEncoder() && fixedCaptions ? encodeCaptions(List.of(train, val), log) : null;
            if (textCache != null) freeTextEncoders(log);
            TrainConfig.Lora l = config.lora();
            LoraSpec spec = new LoraSpec(l.rank(), l.alpha(), l.dropout(), l.convRank(), l.convAlpha(), l.useRslora());
            this.unetNet = inject(pipeline.unet().loraHosts(), SdLoraTargets.unet(l.convRank() > 0), spec, l, device);
            this.teNet = l.trainTextEncoder() ? inject(pipeline.textEncoder().loraHosts(), n -> true, spec, l, device) : null;
            // kohya's sdxl_train_network trains both encoders' attention and MLP (not TE2's text_projection), TE1 at the first
            // text_encoder_lr and TE2 at the second (one value: both at it)
            this.te2Net = l.trainTextEncoder() && pipeline.textEncoder2() != null
                    ? inject(pipeline.textEncoder2().loraHosts(), n -> true, spec, l, device) : null;
            if (config.model().networkWeights().isPresent()) {
                Path file = config.model().networkWeights().get();
                int fresh = l.networkType() == NetworkType.LORA ? NetworkWeights.loadInto(file, kohyaParts())
                        : NetworkWeights.loadLycorisInto(file, lycorisParts(), l.networkType());
                log.accept("continuing from " + file + (fresh > 0 ? " (" + fresh + " modules not in it start fresh)" : ""));
            }
            pipeline.unet().setGradientCheckpointing(config.loop().gradientCheckpointing());
            if (teNet != null) pipeline.textEncoder().setGradientCheckpointing(config.loop().gradientCheckpointing());
            if (te2Net != null) pipeline.textEncoder2().setGradientCheckpointing(config.loop().gradientCheckpointing());
            double lr = config.optimizer().learningRate();
            // LoRA+ per part, as kohya's network: loraplus_unet_lr_ratio / loraplus_text_encoder_lr_ratio, else loraplus_lr_ratio
            double unetPlus = config.optimizer().loraPlusUnetLrRatio();
            double tePlus = config.optimizer().loraPlusTextEncoderLrRatio();
            addParams("unet.", unetNet, config.optimizer().unetLr() / lr, unetPlus);
            if (teNet != null) addParams("te.", teNet, config.optimizer().textEncoderLr(1) / lr, tePlus);
            if (te2Net != null) addParams("te2.", te2Net, config.optimizer().textEncoderLr(2) / lr, tePlus);

            this.objective = new DiffusionObjective(pipeline.schedule(), pipeline.vPrediction(), config.loop().noiseOffset(),
                    config.loop().minSnrGamma(), config.loop().diffusion());
            if (config.loop().diffusion().multiresNoiseIterations() > 0 && config.loop().cudaGraphs() && device.isCuda()) {
                log.accept("note: multires noise changes its levels' sizes every step, so steps run without CUDA graphs");
            }
            this.generator = new SdImageGenerator(pipeline, config.model().maxTokenLength(), config.model().clipSkip());
            int batches = epochBatches(0, config.loop().batchSize()).size();
            this.stepsPerEpoch = Math.ceilDiv(batches, config.loop().gradientAccumulationSteps());
            this.metadata = SdLoraMetadata.of(config, pipeline, ds, ds.isKohyaLayout() || ds.size() > ds.trainImageCount()
                    ? trainWithRepeats(ds, split[0]) : train.size(), batches, started);
        } catch (IOException e) {
            close();
            throw new TrainingException(e.getMessage(), e);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private static SdPipeline openPipeline(TrainConfig config, Device device) {
        MixedPrecision mp = config.loop().mixedPrecision();
        // frozen weights in the autocast dtype on CUDA; the CPU computes in fp32
        DType dtype = !device.isCuda() ? DType.F32 : mp == MixedPrecision.FP16 ? DType.F16 : mp == MixedPrecision.BF16 ? DType.BF16 : DType.F32;
        if (config.model().fp8Base() && !DType.F8E4M3.available()) {
            throw new TrainingException("fp8_base: " + DType.F8E4M3.unavailableReason() + ", or remove fp8_base");
        }
        UNetConfig.Prediction prediction = switch (config.model().predictionType()) {
            case AUTO -> null;
            case EPSILON -> UNetConfig.Prediction.EPSILON;
            case V_PREDICTION -> UNetConfig.Prediction.V_PREDICTION;
        };
        try {
            SdPipeline p = SdPipeline.open(config.model().baseModel(), prediction, config.model().ldmConfig().orElse(null), config.model().vae().orElse(null),
                    device, dtype, config.model().fp8Base());
            if (p.family() == SdFamily.SDXL && config.model().clipSkip() != 1) {
                p.close();
                throw new UnsupportedOperationException("clip_skip " + config.model().clipSkip() + " does not apply to SDXL (its UNet reads the"
                        + " penultimate layer of both text encoders); leave clip_skip at 1");
            }
            return p;
        } catch (IOException | IllegalArgumentException | UnsupportedOperationException e) {
            throw new TrainingException("base_model " + config.model().baseModel() + ": " + e.getMessage(), e);
        }
    }

    /** {train indices, val indices} of the train folder: disjoint, fixed by the seed (val_ratio), or all train. */
    private static int[][] splitIndices(TrainConfig c, int n) {
        if (c.data().valRatio() <= 0) return new int[][] {all(n), new int[0]};
        int[] val = TrainValSplit.valIndices(n, c.data().valRatio(), c.loop().seed());
        boolean[] isVal = new boolean[n];
        for (int i : val) isVal[i] = true;
        int[] tr = new int[n - val.length];
        for (int i = 0, k = 0; i < n; i++) if (!isVal[i]) tr[k++] = i;
        return new int[][] {tr, val};
    }

    /** kohya's num_train_images: the train split's images x their repeats. */
    private static int trainWithRepeats(ImageCaptionDataset ds, int[] trainIdx) {
        int n = 0;
        for (int i : trainIdx) if (!ds.isReg(i)) n += ds.repeats(i);
        return n;
    }

    /** The regularization images always train: they join the train split, never the validation one. */
    private static int[][] withReg(int[][] split, ImageCaptionDataset ds) {
        if (ds.size() == ds.trainImageCount()) return split;
        int[] tr = java.util.Arrays.copyOf(split[0], split[0].length + ds.size() - ds.trainImageCount());
        for (int i = ds.trainImageCount(), k = split[0].length; i < ds.size(); i++, k++) tr[k] = i;
        return new int[][] {tr, split[1]};
    }

    private static int[] all(int n) {
        int[] r = new int[n];
        for (int i = 0; i < n; i++) r[i] = i;
        return r;
    }

    private static ImageDatasetOptions withDir(ImageDatasetOptions o, Path dir) {
        return new ImageDatasetOptions(dir, Optional.empty(), o.captionExtension(), o.buckets(), o.randomCrop(), o.flipAug(), o.captions(),
                o.seed(), o.maxBadImageRatio());
    }

    /**
     * Text states of every caption of the splits, once (captions are fixed, the encoder frozen); with
     * cache_text_encoder_outputs_to_disk also kept in the training folder's .lora-cache/ between runs.
     */
    private Map<String, SdPipeline.Conditioning> encodeCaptions(List<Split> splits, Consumer<String> log) throws IOException {
        Set<String> captions = new LinkedHashSet<>();
        for (Split sp : splits) for (int i : sp.indices()) captions.add(sp.dataset().caption(i, 0));
        Optional<Path> disk = config.image().cacheTextEncoderOutputsToDisk()
                ? Optional.of(train.dataset().options().trainDataDir().resolve(".lora-cache")) : Optional.empty();
        TextStateCache.Result r = TextStateCache.build(pipeline, captions, config.model().maxTokenLength(), config.model().clipSkip(), disk);
        if (disk.isPresent()) log.accept("cached text-encoder outputs of " + r.states().size() + " captions (" + r.encoded() + " encoded, " + r.reused() + " from disk)");
        return r.states();
    }

    /**
     * With every caption's text states cached (frozen encoders, fixed captions), the sample prompts are encoded
     * once too and the encoders' weights freed, as kohya's cache_text_encoder_outputs moves them off the GPU:
     * 1.6 GiB for SDXL's two in fp16.
     */
    private void freeTextEncoders(Consumer<String> log) {
        TrainConfig.Sampling sc = config.sample();
        Set<String> texts = new LinkedHashSet<>();
        for (String raw : sc.prompts()) {
            SamplePrompt p = SamplePrompt.parse(raw, config.image().resolution().width(), config.image().resolution().height(),
                    sc.seed(), sc.cfgScale(), sc.steps());
            texts.add(p.prompt());
            texts.add(p.negative());
        }
        pipeline.pinConditioning(texts, config.model().maxTokenLength(), config.model().clipSkip());
        pipeline.dropTextEncoders();
        log.accept("text encoders: outputs cached for " + textCache.size() + " captions" + (sc.prompts().isEmpty() ? "" : " and the sample prompts")
                + "; the encoders are freed");
    }

    /** A caption's conditioning; the empty caption of caption dropout is encoded like any other, as kohya does. */
    private SdPipeline.Conditioning encodeCaption(String caption) {
        return pipeline.encodeConditioning(caption, config.model().maxTokenLength(), config.model().clipSkip());
    }

    // ---- TrainingTask ----

    @Override public List<NamedParam> trainableParameters() { return List.copyOf(params); }

    /** The network's parameters under {@code prefix}: down matrices at {@code scale}, up matrices at scale x the LoRA+ ratio. */
    private void addParams(String prefix, AdapterNetwork net, double scale, double loraPlusRatio) {
        for (NamedParam p : net.trainableParameters(scale, scale * loraPlusRatio)) params.add(new NamedParam(prefix + p.name(), p.tensor(), p.lrScale()));
    }

    @Override public int trainSize() { return train.size(); }

    @Override public int valSize() { return val.size(); }

    @Override public double weight(int[] exampleIndices, boolean validation) { return exampleIndices.length; }

    /** Batches of batch_size within aspect-ratio buckets, as kohya forms them, shuffled per (seed, epoch). */
    @Override public List<int[]> epochBatches(int epoch, int batchSize) {
        int[] bucketOf = new int[train.size()];
        int[] repeats = new int[train.size()];
        for (int k = 0; k < bucketOf.length; k++) {
            bucketOf[k] = train.dataset().bucketIndex(train.indices()[k]);
            repeats[k] = train.dataset().repeats(train.indices()[k]);
        }
        return new BucketBatchSampler(bucketOf, repeats, batchSize, config.loop().seed()).batches(epoch);
    }

    @Override public void setEpoch(int epoch) { this.epoch = epoch; }

    /** Without cached latents, the next step's images are decoded and resized while this step runs. */
    @Override public void prefetch(List<int[]> microBatches, int epoch) {
        if (train.cache() != null) return;
        for (int[] mb : microBatches) train.dataset().prefetch(train.datasetIndices(mb), epoch);
    }

    /** The epoch the last training step belonged to (0-based). */
    public int epoch() { return epoch; }

    @Override public Tensor lossSum(int[] exampleIndices, boolean validation) {
        Split s = validation ? val : train;
        int augmentEpoch = validation ? 0 : epoch;   // validation sees the same crops and captions every time
        unetNet.setTraining(!validation);
        if (teNet != null) teNet.setTraining(!validation);
        if (te2Net != null) te2Net.setTraining(!validation);
        // the loop's validation batches follow index order and may mix buckets: one forward per bucket
        Map<Integer, List<Integer>> groups = new LinkedHashMap<>();
        for (int k : exampleIndices) {
            int i = s.indices()[k];
            groups.computeIfAbsent(s.dataset().bucketIndex(i), b -> new ArrayList<>()).add(i);
        }
        Tensor total = null;
        for (List<Integer> g : groups.values()) {
            int[] idx = g.stream().mapToInt(Integer::intValue).toArray();
            Tensor latents = latents(s, idx, augmentEpoch);                                  // (B, 4, h, w)
            SdPipeline.Conditioning text = textStates(s, idx, augmentEpoch);                 // (B, L, D), SDXL: pooled (B, P)
            double[] weights = new double[idx.length];
            for (int k = 0; k < idx.length; k++) weights[k] = s.dataset().lossWeight(idx[k]);
            Tensor sum;
            if (text.pooled() == null) {
                sum = DiffusionObjective.weighted(objective.perExampleLoss(pipeline.unet(), latents, text.context()), weights).sum();
            } else {
                var added = SdxlConditioning.added(text.pooled(), s.dataset(), idx, augmentEpoch);
                sum = DiffusionObjective.weighted(objective.perExampleLoss(latents,
                        (x, t) -> pipeline.unet().forward(x, t, text.context(), added)), weights).sum();
            }
            total = total == null ? sum : total.add(sum);
        }
        return total;
    }

    /**
     * CUDA graphs: latents, text states (SDXL: also the pooled embedding and the time ids) and the
     * per-example loss weights of one training micro-batch, on the device; null when a text encoder
     * trains (its forward would have to run inside the step), the batch mixes buckets, or multires noise is on (its
     * levels change size every step).
     */
    @Override public List<Tensor> stepInputs(int[] exampleIndices) {
        if (config.loop().diffusion().multiresNoiseIterations() > 0) return null;   // its noise changes shape every step
        Split s = train;
        int[] idx = s.datasetIndices(exampleIndices);
        for (int i : idx) if (s.dataset().bucketIndex(i) != s.dataset().bucketIndex(idx[0])) return null;
        Device d = pipeline.device();
        Tensor latents = onDevice(latents(s, idx, epoch), d);
        float[] w = new float[idx.length];
        for (int k = 0; k < idx.length; k++) w[k] = (float) s.dataset().lossWeight(idx[k]);
        Tensor weights = Torch.of(w, w.length).to(d);
        boolean sdxl = pipeline.family() == SdFamily.SDXL;
        if (teNet != null || te2Net != null) {
            // a trained text encoder runs inside the step: its inputs are the captions' token ids
            List<Tensor> ids1 = new ArrayList<>(idx.length), ids2 = new ArrayList<>(idx.length);
            for (int i : idx) {
                Tensor[] ids = pipeline.promptIds(s.dataset().caption(i, epoch), config.model().maxTokenLength());
                ids1.add(ids[0]);
                if (ids[1] != null) ids2.add(ids[1]);
            }
            for (Tensor t : ids1) if (t.size(0) != ids1.get(0).size(0)) return null;   // captions of different chunk counts
            List<Tensor> in = new ArrayList<>(List.of(latents, weights, Torch.stack(ids1, 0).to(d)));
            if (sdxl) {
                in.add(Torch.stack(ids2, 0).to(d));
                in.add(SdxlConditioning.timeIds(s.dataset(), idx, epoch).to(d));
            }
            return in;
        }
        SdPipeline.Conditioning text = textStates(s, idx, epoch);
        List<Tensor> in = new ArrayList<>(List.of(latents, weights, onDevice(text.context(), d)));
        if (text.pooled() != null) {
            AddedConditions added = SdxlConditioning.added(text.pooled(), s.dataset(), idx, epoch);
            in.add(onDevice(added.textEmbeds(), d));
            in.add(onDevice(added.timeIds(), d));
        }
        return in;
    }

    /**
     * The training loss sum from {@link #stepInputs}' tensors: device work only (the text encoders when they
     * train, noise, timesteps, UNet, MSE).
     */
    @Override public Tensor lossSumFromInputs(List<Tensor> in) {
        unetNet.setTraining(true);
        Tensor latents = in.get(0), weights = in.get(1);
        Tensor context;
        AddedConditions added = null;
        if (in.get(2).dtype() == DType.I64) {
            if (teNet != null) teNet.setTraining(true);
            if (te2Net != null) te2Net.setTraining(true);
            boolean sdxl = pipeline.family() == SdFamily.SDXL;
            SdPipeline.Conditioning text = pipeline.encodeIds(in.get(2), sdxl ? in.get(3) : null, config.model().clipSkip());
            context = text.context();
            if (sdxl) added = new AddedConditions(text.pooled(), in.get(4));
        } else {
            context = in.get(2);
            if (in.size() > 3) added = new AddedConditions(in.get(3), in.get(4));
        }
        if (added == null) {
            return DiffusionObjective.weighted(objective.perExampleLoss(pipeline.unet(), latents, context), weights).sum();
        }
        AddedConditions a = added;
        return DiffusionObjective.weighted(objective.perExampleLoss(latents, (x, t) -> pipeline.unet().forward(x, t, context, a)),
                weights).sum();
    }

    private static Tensor onDevice(Tensor t, Device d) { return t.device().equals(d) ? t : t.to(d); }

    private Tensor latents(Split s, int[] idx, int augmentEpoch) {
        if (s.cache() != null) return s.cache().batch(idx);
        try (Autograd.GradMode g = Autograd.noGrad(); ImageBatch b = s.dataset().load(idx, augmentEpoch)) {
            return LatentCache.encode(pipeline, b.pixels());
        }
    }

    private SdPipeline.Conditioning textStates(Split s, int[] idx, int augmentEpoch) {
        List<SdPipeline.Conditioning> rows = new ArrayList<>(idx.length);
        for (int i : idx) {
            String caption = s.dataset().caption(i, augmentEpoch);
            SdPipeline.Conditioning cached = textCache == null ? null : textCache.get(caption);
            if (cached != null) {
                rows.add(cached);
            } else if (teNet == null) {
                try (Autograd.GradMode g = Autograd.noGrad()) {
                    rows.add(encodeCaption(caption));
                }
            } else {
                rows.add(encodeCaption(caption));
            }
        }
        return SdxlConditioning.batch(rows);
    }

    /**
     * The networks as kohya's files hold them: SD 1.x / 2.x lora_unet_ and lora_te_ with the models' module
     * names; SDXL lora_unet_ with LDM module names ({@link SdxlKohyaNames}), which network_weights reads back too.
     */
    private List<KohyaLoraWriter.Part> kohyaParts() {
        if (pipeline.family() == SdFamily.SDXL) {
            return SdxlKohyaNames.parts(pipeline.unet().config(), (LoraNetwork) unetNet, (LoraNetwork) teNet, (LoraNetwork) te2Net);
        }
        List<KohyaLoraWriter.Part> parts = new ArrayList<>();
        parts.add(new KohyaLoraWriter.Part(KohyaLoraWriter.PREFIX_UNET, (LoraNetwork) unetNet));
        if (teNet != null) parts.add(new KohyaLoraWriter.Part(KohyaLoraWriter.PREFIX_TEXT_ENCODER, (LoraNetwork) teNet));
        return parts;
    }

    /** The same for LoHa / LoKr networks: the same prefixes and module names, LyCORIS's tensor keys. */
    private List<LycorisFiles.Part> lycorisParts() {
        List<LycorisFiles.Part> parts = new ArrayList<>();
        if (pipeline.family() == SdFamily.SDXL) {
            parts.add(new LycorisFiles.Part(KohyaLoraWriter.PREFIX_UNET, (LycorisNetwork) unetNet, SdxlKohyaNames.unet(pipeline.unet().config())));
            if (teNet != null) parts.add(new LycorisFiles.Part(KohyaLoraWriter.PREFIX_TEXT_ENCODER1, (LycorisNetwork) teNet));
            if (te2Net != null) parts.add(new LycorisFiles.Part(KohyaLoraWriter.PREFIX_TEXT_ENCODER2, (LycorisNetwork) te2Net));
        } else {
            parts.add(new LycorisFiles.Part(KohyaLoraWriter.PREFIX_UNET, (LycorisNetwork) unetNet));
            if (teNet != null) parts.add(new LycorisFiles.Part(KohyaLoraWriter.PREFIX_TEXT_ENCODER, (LycorisNetwork) teNet));
        }
        return parts;
    }

    /**
     * Plain LoRA (LoCon with conv_rank; kohya's network, rank and module dropouts unless a DoRA), or LyCORIS's LoHa / LoKr
     * for network_type loha / lokr.
     */
    private static AdapterNetwork inject(Map<String, LoraHost> hosts, java.util.function.Predicate<String> filter, LoraSpec spec,
                                         TrainConfig.Lora l, Device device) {
        return switch (l.networkType()) {
            // DoRA as LyCORIS' dora_wd with wd_on_output=False: dora_scale per input channel, the form WebUI applies
            case LORA -> {
                LoraNetwork net = LoraNetwork.inject(hosts, filter, spec,
                        l.useDora() ? LoraAdapter.Decomposition.INPUT : LoraAdapter.Decomposition.NONE, device);
                if (!l.useDora()) net.setKohyaDropouts(l.networkDropout(), l.rankDropout(), l.moduleDropout());
                yield net;
            }
            case LOHA -> LycorisNetwork.inject(hosts, filter, spec, LycorisAdapter.Algo.LOHA, LycorisNetwork.LokrOptions.DEFAULT, device);
            case LOKR -> LycorisNetwork.inject(hosts, filter, spec, LycorisAdapter.Algo.LOKR, new LycorisNetwork.LokrOptions(
                    l.networkArgs().factor(), l.networkArgs().decomposeBoth(), l.networkArgs().fullMatrix()), device);
        };
    }

    @Override public void exportAdapter(Path target, Map<String, String> loopMetadata) throws IOException {
        DType dtype = switch (config.output().savePrecision()) {
            case FP16 -> DType.F16;
            case BF16 -> DType.BF16;
            case FP32 -> DType.F32;
        };
        Map<String, String> meta = SdLoraMetadata.withProgress(metadata, loopMetadata, stepsPerEpoch, System.currentTimeMillis());
        if (config.lora().networkType() == NetworkType.LORA) {
            KohyaLoraWriter.write(target, kohyaParts(), dtype, meta);
        } else {
            LycorisFiles.write(target, lycorisParts(), dtype, meta);
        }
    }

    @Override public String adapterFileName(String outputName) { return outputName + ".safetensors"; }

    @Override public Map<String, String> trainingMetadata() { return metadata; }

    /**
     * One image per sample prompt at the training resolution; the loop has seeded the generators and
     * restores them. With sample_with_base the image is the base model's picture (the LoRA at
     * multiplier 0, drawn once and kept) and the LoRA's side by side, same prompt and seed.
     */
    @Override public void sample(long step, SampleSink sink) {
        List<String> prompts = config.sample().prompts();
        if (prompts.isEmpty()) return;
        unetNet.setTraining(false);
        if (teNet != null) teNet.setTraining(false);
        if (te2Net != null) te2Net.setTraining(false);
        TrainConfig.Sampling sc = config.sample();
        for (int i = 0; i < prompts.size(); i++) {
            SamplePrompt p = SamplePrompt.parse(prompts.get(i), config.image().resolution().width(), config.image().resolution().height(),
                    sc.seed(), sc.cfgScale(), sc.steps());
            SdImageGenerator.Request request = new SdImageGenerator.Request(p.prompt(), p.negative(), p.width(), p.height(), p.steps(),
                    p.cfgScale(), sc.sampler(), p.seed());
            try (Scope s = Scope.open()) {
                Tensor image = generator.generate(request).select(0, 0).to(DType.F32, Device.CPU);      // (3, H, W)
                if (sc.withBase()) image = Torch.cat(List.of(baseImage(i, request), image), 2);        // (3, H, 2W)
                sink.image("sample/" + i, SdImageGenerator.toPng(image), (int) image.size(2), p.height());
            }
        }
        sampledOnce = true;
    }

    /** The base model's image of sample prompt {@code i} (3, H, W) on the CPU, drawn at the first call. */
    private Tensor baseImage(int i, SdImageGenerator.Request request) {
        Tensor cached = baseImages.get(i);
        if (cached != null) return cached;
        setMultiplier(0);
        try {
            Tensor image = generator.generate(request).select(0, 0).to(DType.F32, Device.CPU).keep();
            baseImages.put(i, image);
            return image;
        } finally {
            setMultiplier(1);
        }
    }

    private void setMultiplier(double m) {
        unetNet.setMultiplier(m);
        if (teNet != null) teNet.setMultiplier(m);
        if (te2Net != null) te2Net.setMultiplier(m);
    }

    @Override public List<String> summary() {
        if (!sampledOnce) return List.of();
        return List.of("samples: " + config.output().outputDir().resolve("samples") + (config.sample().withBase()
                ? " (each image: the base model on the left, with the LoRA on the right; also in TensorBoard)" : " (also in TensorBoard)"));
    }

    /** The loaded models (for tests and tools that inspect the trained network). */
    public SdPipeline pipeline() { return pipeline; }

    /** The config as trained: the one given, with the base family's defaults applied ({@link SdFamilyDefaults}). */
    public TrainConfig config() { return config; }

    public AdapterNetwork unetNetwork() { return unetNet; }

    /** The text-encoder network, or null when train_text_encoder is off. */
    public AdapterNetwork textEncoderNetwork() { return teNet; }

    /** SDXL's second text-encoder network, or null unless SDXL with train_text_encoder. */
    public AdapterNetwork textEncoder2Network() { return te2Net; }

    /** Images the VAE encoded for the latent cache of the training folder (0 when all came from disk or caching is off). */
    /** The training images (tests: what the prefetch took). */
    public ImageCaptionDataset trainingData() { return train.dataset(); }

    public int latentsEncoded() { return train == null || train.cache() == null ? 0 : train.cache().encoded(); }

    @Override public void close() {
        baseImages.values().forEach(Tensor::close);
        if (textCache != null) {
            for (SdPipeline.Conditioning c : textCache.values()) {
                c.context().close();
                if (c.pooled() != null) c.pooled().close();
            }
        }
        if (train != null && train.cache() != null) train.cache().close();
        if (val != null && val.cache() != null && val.cache() != (train == null ? null : train.cache())) val.cache().close();
        if (te2Net != null) te2Net.close();
        if (teNet != null) teNet.close();
        if (unetNet != null) unetNet.close();
        pipeline.close();
    }
}
