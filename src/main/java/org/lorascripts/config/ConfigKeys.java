package org.lorascripts.config;

import static org.lorascripts.config.Section.DATA;
import static org.lorascripts.config.Section.LORA;
import static org.lorascripts.config.Section.MODEL;
import static org.lorascripts.config.Section.OUTPUT;
import static org.lorascripts.config.Section.SAMPLE;
import static org.lorascripts.config.Section.TRAIN;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The key registry: the one place where every config key is described (name, type, default,
 * range or choices, section, task, help). The YAML binder, {@code --set}, the dry-run printer
 * and {@code ./lora train --list-keys} (the docs table) all read this list.
 * To add a setting: add a row here, read it in {@link TrainConfig#from}, regenerate
 * docs/config-keys.md.
 */
public final class ConfigKeys {
    private ConfigKeys() {}

    private static ConfigKey.Builder key(String name, Section section) { return ConfigKey.builder(name, section); }

    /** All keys, in documentation order (grouped by section). */
    public static final List<ConfigKey> ALL = List.of(
            // ---- model_config
            key("base_model", MODEL).model().required().alias("model_name_or_path")
                    .help("Base checkpoint: a .safetensors file, a diffusers/HF model folder, ORG/NAME[@REVISION] (or ORG/NAME/FILE.safetensors) on the Hugging Face Hub,"
                            + " fetched into the shared HF cache, or builtin:tiny-sd / builtin:tiny-sdxl / builtin:tiny-llama (small pretrained demo models).").build(),
            key("task_type", MODEL).choice(TaskType.class).def(TaskType.IMAGE_GENERATION)
                    .help("What to train: image-generation (Stable Diffusion LoRA) or text-generation (LLM LoRA).").build(),
            key("network_weights", MODEL).path()
                    .help("Continue training from an existing LoRA: a kohya .safetensors file (image; a LyCORIS LoHa/LoKr file with its network_type)"
                            + " or a PEFT adapter folder (text), or either on the Hub (ORG/NAME/FILE.safetensors, ORG/NAME); rank and alpha must match.").build(),
            key("ldm_config", MODEL).path().image()
                    .help("The LDM .yaml of a single-file checkpoint (attention heads, v-prediction, VAE scale), as WebUI reads it;"
                            + " default: the .yaml with the checkpoint's name beside it, if any.").build(),
            key("vae", MODEL).path().image()
                    .help("A separate VAE .safetensors (e.g. the fp16-fix SDXL VAE) used instead of the checkpoint's: a diffusers vae/ folder,"
                            + " or one file with diffusers or LDM (first_stage_model. or bare encoder./decoder.) names; or ORG/NAME on the Hub.").build(),
            key("network_module", MODEL).string().def("networks.lora").image()
                    .help("Informational (kohya compatibility): networks.lora, or lycoris.kohya with network_args (algo=loha/lokr); network_type chooses what is trained.").build(),
            key("prediction_type", MODEL).choice(PredictionType.class).def(PredictionType.AUTO).image()
                    .help("What the UNet predicts; auto reads it from the model (SD 2.x 768 models use v_prediction).").build(),
            key("clip_skip", MODEL).integer(1, 12).def(1).image()
                    .help("Use the N-th last CLIP text-encoder layer (2 is common for anime models).").build(),
            key("max_token_length", MODEL).integerOneOf(75, 150, 225).def(75).image()
                    .help("Caption length in CLIP tokens; longer captions are split into 75-token chunks.").build(),
            key("chat_template", MODEL).choice(ChatTemplate.class).def(ChatTemplate.AUTO).text()
                    .help("Chat template for conversational examples: auto renders the model's own Jinja template (tokenizer_config.json"
                            + " or chat_template.jinja) when it has one, model requires it; llama3, chatml, mistral, none are built in.").build(),
            key("chat_template_file", MODEL).path().text()
                    .help("A Jinja chat template file (HF chat_template syntax) used instead of the model's and of chat_template.").build(),
            key("load_in_4bit", MODEL).bool().def(false).text()
                    .help("QLoRA: keep the base model's decoder linear layers as 4-bit NF4 with double quantisation (bitsandbytes'"
                            + " format, about 0.52 bytes a weight) and train the LoRA over them in the compute dtype; embeddings, norms and"
                            + " lm_head stay unquantised. The adapter written is the same as without it and loads on the unquantised model.").build(),
            key("fp8_base", MODEL).bool().def(false).image()
                    .help("Keep the frozen UNet blocks' linear and convolution weights and the text encoders' linear weights (as kohya's)"
                            + " as fp8 (e4m3, one scale per output channel):"
                            + " half the memory of fp16 weights (SDXL's UNet 4.8 -> 2.4 GiB), each made dense for one product at a time;"
                            + " slightly slower, and the base is rounded to 3 mantissa bits. Needs libtorch 2.1 or newer. The LoRA written"
                            + " is the same kind and loads on the fp16 model.").build(),
            key("load_in_8bit", MODEL).bool().def(false).text()
                    .help("Keep the base model's decoder linear layers as 8-bit float (e4m3, one scale per output channel; not"
                            + " bitsandbytes' LLM.int8 format, the same memory: 1 byte a weight) and train the LoRA over them in the compute"
                            + " dtype; closer to the 16-bit base than 4-bit NF4, twice its memory. Needs libtorch 2.1 or newer. The adapter"
                            + " written loads on the unquantised model.").build(),
            key("quantization_bit", MODEL).integer(0, 8).def(0).text()
                    .help("LLaMA-Factory's spelling: 4 is load_in_4bit: true, 8 is load_in_8bit: true (here as fp8, not bitsandbytes'"
                            + " int8), 0 is off; other widths are not supported.").build(),
            // ---- lora_config
            key("lora_rank", LORA).integer(1, 1024).def(8).alias("network_dim", "lora_r")
                    .help("LoRA rank r (adapter capacity). 4-16 suits a style or character; higher needs more data.").build(),
            key("lora_alpha", LORA).positiveNumber().derivedFrom("lora_rank").alias("network_alpha")
                    .help("Scale numerator: the update is multiplied by alpha/rank. alpha = rank gives scale 1.").build(),
            key("lora_dropout", LORA).numberBelow(0, 1).def(0.0)
                    .help("Dropout on the LoRA input during training (PEFT's lora_dropout).").build(),
            key("network_dropout", LORA).numberBelow(0, 1).def(0.0).image()
                    .help("kohya's neuron dropout: dropout on each LoRA's rank-r hidden (the down projection's output) during training,"
                            + " as kohya's --network_dropout; lora_dropout drops the input instead. Plain LoRA and LoCon.").build(),
            key("rank_dropout", LORA).numberBelow(0, 1).def(0.0).image()
                    .help("kohya's rank dropout: during training each image drops each of a LoRA's r ranks with this probability,"
                            + " the kept ones scaled by 1/(1-p) (network_args rank_dropout). Plain LoRA and LoCon.").build(),
            key("module_dropout", LORA).numberBelow(0, 1).def(0.0).image()
                    .help("kohya's module dropout: each training forward leaves out a LoRA module's contribution with this probability"
                            + " (network_args module_dropout). Its gradient is then zero; unlike kohya's optimizer, which skips the"
                            + " module for that step, momentum still moves it. Plain LoRA and LoCon.").build(),
            key("conv_rank", LORA).integer(0, 1024).def(0).image().alias("conv_dim")
                    .help("Rank of LoRA on 3x3 convolutions (LoCon); 0 = off.").build(),
            key("conv_alpha", LORA).positiveNumber().derivedFrom("conv_rank").image()
                    .help("Alpha of the convolution LoRA.").build(),
            key("network_type", LORA).choice(NetworkType.class).def(NetworkType.LORA).image()
                    .help("Adapter kind: lora (LoCon with conv_rank), loha (LyCORIS Hadamard product) or lokr (LyCORIS Kronecker product);"
                            + " network_args algo= sets it too.").build(),
            key("network_args", LORA).texts().def(List.of()).image()
                    .help("kohya's --network_args for LyCORIS: key=value strings, e.g. [\"algo=loha\", \"conv_dim=4\", \"conv_alpha=1\"];"
                            + " understood: algo, conv_dim, conv_alpha, factor, decompose_both, full_matrix (LoKr), dora_wd (= use_dora),"
                            + " dropout (= network_dropout), rank_dropout, module_dropout.").build(),
            key("target_modules", LORA).names().def(List.of("q_proj", "k_proj", "v_proj", "o_proj")).text().alias("lora_target_modules")
                    .help("Linear layers that get a LoRA, by name; all-linear targets every linear layer but the output head.").build(),
            key("use_rslora", LORA).bool().def(false).text()
                    .help("Rank-stabilised LoRA: scale by alpha/sqrt(rank) instead of alpha/rank.").build(),
            key("use_dora", LORA).bool().def(false)
                    .help("DoRA (weight-decomposed LoRA): also train a magnitude per output row (text, PEFT's use_dora) or per input"
                            + " channel (image, LyCORIS dora_wd as WebUI/ComfyUI load it).").build(),
            key("train_text_encoder", LORA).bool().def(false).image()
                    .help("Also train LoRA on the CLIP text encoder (stronger effect, overfits sooner).").build(),
            // ---- train_config
            key("learning_rate", TRAIN).positiveNumber().def(1e-4)
                    .help("Peak learning rate. Typical: 1e-4..3e-4 for image LoRA, 5e-5..1e-4 for text.").build(),
            key("unet_lr", TRAIN).positiveNumber().derivedFrom("learning_rate").image()
                    .help("Learning rate of the UNet LoRA.").build(),
            key("text_encoder_lr", TRAIN).positiveNumbers(2).derivedFrom("learning_rate").image()
                    .help("Learning rate of the text-encoder LoRA (often lower, e.g. 5e-5); needs train_text_encoder."
                            + " One number for every text encoder, or for SDXL a list [TE1, TE2] (e.g. [5e-5, 2.5e-5]);"
                            + " SD 1.x/2.x have one encoder and use the first number, as kohya does.").build(),
            key("optimizer", TRAIN).choice(OptimizerType.class).def(OptimizerType.ADAMW).alias("optimizer_type")
                    .help("Optimizer: adamw, adamw8bit (bitsandbytes' AdamW8bit: the moments of tensors of 4096 or more"
                            + " elements as 8-bit codes, about 2 bytes per parameter instead of 8), lion, sgd, sgd_nesterov"
                            + " (momentum 0.9), adafactor, prodigy; kohya's optimizer_type spellings (AdamW, AdamW8bit,"
                            + " PagedAdamW8bit (= adamw8bit), Lion, SGDNesterov, Adafactor, Prodigy) work too."
                            + " Lion wants a rate 3-10x below AdamW's; prodigy wants learning_rate 1.0; adafactor"
                            + " with relative_step (its default) sets its own step size and ignores learning_rate.").build(),
            key("optimizer_args", TRAIN).texts().def(List.of())
                    .help("Extra optimizer settings as kohya's --optimizer_args: key=value strings with Python values,"
                            + " e.g. [\"weight_decay=0.01\", \"betas=0.9,0.99\", \"d_coef=2\", \"use_bias_correction=True\"];"
                            + " they override weight_decay and the adam_* keys. Accepted keys: " + optimizerArgKeys() + ".").build(),
            key("loraplus_lr_ratio", TRAIN).positiveNumber().def(1.0)
                    .help("LoRA+: the up (B) matrices train at the learning rate times this ratio (LoRA+ paper and kohya"
                            + " suggest 16); 1 = off.").build(),
            key("loraplus_unet_lr_ratio", TRAIN).positiveNumber().derivedFrom("loraplus_lr_ratio").image()
                    .help("LoRA+ ratio of the UNet's up matrices, instead of loraplus_lr_ratio (kohya's network_args"
                            + " loraplus_unet_lr_ratio).").build(),
            key("loraplus_text_encoder_lr_ratio", TRAIN).positiveNumber().derivedFrom("loraplus_lr_ratio").image()
                    .help("LoRA+ ratio of the text encoders' up matrices, instead of loraplus_lr_ratio (kohya's network_args"
                            + " loraplus_text_encoder_lr_ratio).").build(),
            key("weight_decay", TRAIN).numberAtLeast(0).def(0.01)
                    .help("Decoupled weight decay (sgd: added to the gradient). Applies to every optimizer when set;"
                            + " unset, only adamw and adamw8bit use this default and the others use 0.").build(),
            key("adam_beta1", TRAIN).numberBelow(0, 1).def(0.9).help("AdamW (and adamw8bit) beta1.").build(),
            key("adam_beta2", TRAIN).numberBelow(0, 1).def(0.999).help("AdamW (and adamw8bit) beta2.").build(),
            key("adam_epsilon", TRAIN).positiveNumber().def(1e-8).help("AdamW (and adamw8bit) epsilon.").build(),
            key("max_grad_norm", TRAIN).numberAtLeast(0).def(1.0)
                    .help("Clip the gradient norm to this value; 0 disables clipping.").build(),
            key("lr_scheduler", TRAIN).choice(LrScheduler.class).def(LrScheduler.COSINE).alias("lr_scheduler_type")
                    .help("Learning-rate schedule after warmup.").build(),
            key("lr_warmup_steps", TRAIN).integerAtLeast(0).def(0).alias("warmup_steps")
                    .help("Steps of linear warmup from 0 to learning_rate (~5-10% of total steps is typical).").build(),
            key("lr_scheduler_num_cycles", TRAIN).integerAtLeast(1).def(1)
                    .help("Number of hard restarts for cosine_with_restarts.").build(),
            key("lr_scheduler_power", TRAIN).positiveNumber().def(1.0)
                    .help("Power of the polynomial schedule.").build(),
            key("epochs", TRAIN).integerAtLeast(1).def(10).alias("max_train_epochs", "num_train_epochs", "num_epochs")
                    .help("Passes over the training data (ignored when max_steps > 0).").build(),
            key("max_steps", TRAIN).integerAtLeast(0).def(0).alias("max_train_steps")
                    .help("Stop after this many optimizer steps; 0 = train for epochs.").build(),
            key("batch_size", TRAIN).integerAtLeast(1).def(1).alias("train_batch_size", "per_device_train_batch_size", "micro_batch_size")
                    .help("Examples per micro-batch; lower it first when the GPU runs out of memory.").build(),
            key("gradient_accumulation_steps", TRAIN).integerAtLeast(1).def(1)
                    .help("Micro-batches per optimizer step: effective batch = batch_size x this.").build(),
            key("mixed_precision", TRAIN).choice(MixedPrecision.class).def(MixedPrecision.NO)
                    .help("Autocast dtype: no, fp16 (any CUDA GPU) or bf16 (Ampere and newer).").build(),
            key("use_fp16", TRAIN).bool()
                    .help("Legacy switch: true means mixed_precision: fp16. Prefer mixed_precision.").build(),
            key("gradient_checkpointing", TRAIN).bool().def(false)
                    .help("Recompute activations in backward: much less memory, ~30% slower.").build(),
            key("recompute_attention", TRAIN).bool().def(false).text()
                    .help("Selective recomputation: keep each decoder layer's MLP activations but run its attention (q/k/v"
                            + " projections and attention) again in backward; about 1.3 GiB less on an 8B model at 2048 tokens for"
                            + " about 9% speed. A middle ground below gradient_checkpointing, which overrides it.").build(),
            key("cuda_graphs", TRAIN).bool().def(true)
                    .help("On CUDA, capture each training step as a CUDA graph and replay it, so the host launches no"
                            + " kernel one by one (steps 1.3-4x faster on an H200); one graph per batch shape. false saves"
                            + " the graphs' memory.").build(),
            key("seed", TRAIN).integerAtLeast(0).def(42)
                    .help("Random seed for initialisation, shuffling and noise.").build(),
            key("device", TRAIN).device().def("auto")
                    .help("auto (CUDA if available, else CPU), cpu, cuda or cuda:N.").build(),
            key("log_interval", TRAIN).integerAtLeast(1).def(10)
                    .help("Log loss and learning rate every N steps.").build(),
            key("noise_offset", TRAIN).number(0, 1).def(0.0).image()
                    .help("Offset noise (~0.05-0.1) helps very dark/bright images; 0 = off.").build(),
            key("min_snr_gamma", TRAIN).numberAtLeast(0).def(0.0).image()
                    .help("Min-SNR loss weighting (5 is typical); 0 = off.").build(),
            key("noise_offset_random_strength", TRAIN).bool().def(false).image()
                    .help("kohya's: each step scales noise_offset by a uniform random number in [0, 1).").build(),
            key("adaptive_noise_scale", TRAIN).number(-1, 1).def(0.0).image()
                    .help("kohya's: adds this times |the latents' mean per channel| to noise_offset (clamped at 0); needs"
                            + " noise_offset.").build(),
            key("ip_noise_gamma", TRAIN).number(0, 1).def(0.0).image()
                    .help("kohya's input-perturbation noise: the noisy latents get this times extra Gaussian noise the target"
                            + " does not contain (~0.1); 0 = off.").build(),
            key("ip_noise_gamma_random_strength", TRAIN).bool().def(false).image()
                    .help("kohya's: each step scales ip_noise_gamma by a uniform random number in [0, 1).").build(),
            key("multires_noise_iterations", TRAIN).integer(0, 20).def(0).image()
                    .help("kohya's multi-resolution (pyramid) noise: adds this many levels of upscaled lower-resolution noise (6-10"
                            + " is typical); 0 = off. Its shapes change every step, so steps run without CUDA graphs.").build(),
            key("multires_noise_discount", TRAIN).number(0, 1).def(0.3).image()
                    .help("kohya's weight of each coarser level of multires noise (level i counts discount^i).").build(),
            key("min_timestep", TRAIN).integer(0, 999).def(0).image()
                    .help("Lowest training timestep (kohya's min_timestep; inclusive).").build(),
            key("max_timestep", TRAIN).integer(1, 1000).def(1000).image()
                    .help("Training timesteps stay below this (kohya's max_timestep; exclusive).").build(),
            key("scale_v_pred_loss_like_noise_pred", TRAIN).bool().def(false).image()
                    .help("kohya's: weights a v-prediction loss by SNR/(SNR+1), the scale of a noise-prediction loss.").build(),
            key("v_pred_like_loss", TRAIN).number(0, 10).def(0.0).image()
                    .help("kohya's: adds this times a v-prediction-like term to the loss (loss x (1 + value x (SNR+1)/SNR)); 0 = off.").build(),
            key("debiased_estimation_loss", TRAIN).bool().def(false).image()
                    .help("kohya's debiased estimation: weights the loss by 1/sqrt(SNR) (1/(SNR+1) for v-prediction), SNR capped at"
                            + " 1000.").build(),
            key("eval_steps", TRAIN).integerAtLeast(0).def(0)
                    .help("Compute validation loss every N steps; 0 = at the end of each epoch (when there is validation data).").build(),
            key("early_stopping_patience", TRAIN).integerAtLeast(0).def(0)
                    .help("Stop after N evaluations without validation-loss improvement; 0 = off.").build(),
            // ---- data_config
            key("train_data_dir", DATA).path().required().defaultLabel("(required, unless subsets or train_data is set)")
                    .help("Training data: a folder of images (+ captions; kohya's N_name subfolders repeat N times), or for text a folder/file of .txt (a line each), .jsonl (an object each) or .json (an array: alpaca, ShareGPT, messages).").build(),
            key("subsets", DATA).subsets().def(List.of()).image()
                    .help("Image subsets as kohya's dataset config [[datasets.subsets]], instead of train_data_dir: a list of"
                            + " mappings with image_dir (required), num_repeats (1), class_tokens, is_reg, metadata_file, and any of"
                            + " caption_extension, shuffle_caption, keep_tokens, keep_tokens_separator, caption_dropout_rate,"
                            + " caption_tag_dropout_rate, flip_aug, random_crop, caption_prefix, caption_suffix, secondary_separator"
                            + " (unset: the top-level key). Each image trains"
                            + " num_repeats times per epoch; is_reg subsets are matched to the train images as reg_data_dir's are."
                            + " E.g. [{image_dir: img/style, num_repeats: 10, class_tokens: mystyle}, {image_dir: reg, is_reg: true}].").build(),
            key("metadata_path", DATA).path().image().defaultLabel("train_data_dir/metadata.csv or metadata.jsonl if present")
                    .help("Caption file: a CSV with header file_name,text; a JSONL of {\"file_name\": ..., \"text\": ...} objects"
                            + " (Hugging Face imagefolder); or kohya's fine-tuning metadata .json ({\"img\": {\"caption\": ...,"
                            + " \"tags\": ...}}, keys with or without the extension). File names are relative to train_data_dir.").build(),
            key("resolution", DATA).resolution().def(Resolution.square(512)).image()
                    .help("Training resolution: 512 (SD1.5), 768, 1024; or \"W,H\". Multiple of 8 (64 recommended).").build(),
            key("caption_extension", DATA).string().def(".txt").image()
                    .help("Extension of per-image caption files (cat.png -> cat.txt).").build(),
            key("reg_data_dir", DATA).path().image()
                    .help("kohya regularization images: N_name subfolders (N repeats, name = caption of uncaptioned images); matched per epoch to the train images as kohya does.").build(),
            key("prior_loss_weight", DATA).positiveNumber().def(1.0).image()
                    .help("Loss weight of the reg_data_dir examples (kohya's prior_loss_weight).").build(),
            key("train_data", DATA).paths().text()
                    .help("Several text datasets mixed into one, instead of train_data_dir: a list of files or folders"
                            + " (each read and format-detected on its own, as train_data_dir is), e.g. [alpaca.json, chat.jsonl], or of"
                            + " mappings {path: alpaca.json, probability: 0.7} (or weight: 3, relative) instead of interleave_probs;"
                            + " see mix_strategy.").build(),
            key("mix_strategy", DATA).choice(MixStrategy.class).def(MixStrategy.CONCAT).text()
                    .help("How train_data's datasets are mixed (LLaMA-Factory's mix_strategy): concat (all of each, in order);"
                            + " interleave_under (draw datasets by interleave_probs, or round-robin, until the first one runs out);"
                            + " interleave_over (until every one has been used whole, repeating the smaller ones). Seeded by seed.").build(),
            key("interleave_probs", DATA).numbers(0, 1, 64).text()
                    .help("With an interleave mix_strategy: the probability of drawing each train_data dataset, one per dataset,"
                            + " summing to 1 (e.g. [0.7, 0.3] or \"0.7,0.3\"); unset: round-robin.").build(),
            key("val_ratio", DATA).number(0, 0.5).def(0.0).alias("val_size")
                    .help("Fraction of the data held out for validation (at least 1 example when > 0).").build(),
            key("val_data_dir", DATA).path()
                    .help("Separate validation data (instead of val_ratio).").build(),
            key("caption_dropout_rate", DATA).numberBelow(0, 1).def(0.0).image()
                    .help("Probability of training an example with an empty caption.").build(),
            key("shuffle_caption", DATA).bool().def(false).image()
                    .help("Shuffle comma-separated caption tags each step.").build(),
            key("keep_tokens", DATA).integerAtLeast(0).def(0).image()
                    .help("Keep the first N caption tags in place when shuffling (e.g. the trigger word).").build(),
            key("keep_tokens_separator", DATA).string().image()
                    .help("kohya's keep_tokens_separator (e.g. \"|||\"): the tags before it stay in place when shuffling"
                            + " (instead of keep_tokens), and tags after a second one stay at the end.").build(),
            key("caption_tag_dropout_rate", DATA).number(0, 1).def(0.0).image()
                    .help("Probability of leaving out each tag that is not kept (keep_tokens), per step.").build(),
            key("caption_prefix", DATA).string().image()
                    .help("Text put before every caption with a space (kohya's caption_prefix; it may end with keep_tokens_separator).").build(),
            key("caption_suffix", DATA).string().image()
                    .help("Text put after every caption with a space (kohya's caption_suffix).").build(),
            key("secondary_separator", DATA).string().image()
                    .help("kohya's secondary_separator (e.g. \";;;\"): tags joined by it stay together when shuffling and"
                            + " dropping, then it becomes a comma.").build(),
            key("flip_aug", DATA).bool().def(false).image()
                    .help("Random horizontal flips (avoid for asymmetric subjects and text).").build(),
            key("random_crop", DATA).bool().def(false).image()
                    .help("Random instead of center crop (incompatible with cache_latents).").build(),
            key("enable_bucket", DATA).bool().def(true).image()
                    .help("Aspect-ratio buckets: train non-square images without cropping them square.").build(),
            key("min_bucket_reso", DATA).integer(64, 8192).def(256).image()
                    .help("Smallest bucket side in pixels; left at the default, it is lowered to fit a smaller resolution (with a note)."
                            + " With an SDXL base the default is resolution/2 (512 at 1024), as in kohya's SDXL recipe.").build(),
            key("max_bucket_reso", DATA).integer(64, 8192).def(1024).image()
                    .help("Largest bucket side in pixels; left at the default, it is raised to fit a larger resolution (with a note)."
                            + " With an SDXL base the default is resolution*2 (2048 at 1024), as in kohya's SDXL recipe.").build(),
            key("bucket_reso_steps", DATA).integer(8, 1024).def(64).image()
                    .help("Bucket side step in pixels (multiple of 8; 64 recommended).").build(),
            key("bucket_no_upscale", DATA).bool().def(false).image()
                    .help("Never upscale small images to fill a bucket.").build(),
            key("cache_latents", DATA).bool().def(true).image()
                    .help("Encode images with the VAE once (faster; disables random_crop/flip per step).").build(),
            key("cache_latents_to_disk", DATA).bool().def(false).image()
                    .help("Keep the latent cache on disk between runs.").build(),
            key("cache_text_encoder_outputs_to_disk", DATA).bool().def(false).image()
                    .help("Keep the text encoders' outputs of each caption on disk between runs (with frozen encoders and fixed captions, as kohya's"
                            + " option; they are always cached in memory then, and the encoders freed).").build(),
            key("data_format", DATA).choice(DataFormat.class).def(DataFormat.AUTO).text()
                    .help("Text data: auto (by extension: .txt lines, .jsonl objects, .json arrays), text (one example per line) or jsonl.").build(),
            key("max_seq_len", DATA).integer(16, 131072).def(512).text().alias("cutoff_len", "sequence_len")
                    .help("Maximum tokens per example; longer examples are truncated.").build(),
            key("packing", DATA).bool().def(false).text().alias("sample_packing")
                    .help("Pack several short examples into one max_seq_len sequence.").build(),
            key("train_on_inputs", DATA).bool().def(false).alias("train_on_prompt").text()
                    .help("Train on every token (prompts, system and user turns too); default: only the answers / assistant turns.").build(),
            // ---- output_config
            key("output_dir", OUTPUT).path().def(Path.of("output")).defaultLabel("./output")
                    .help("Where checkpoints, samples and logs go (relative to the config file).").build(),
            key("output_name", OUTPUT).string().derivedFrom("output_dir").defaultLabel("output_dir's folder name")
                    .help("File name stem of the saved LoRA (no folders) and its ss_output_name; unset, output_dir"
                            + " ./output/my_style writes my_style.safetensors.").build(),
            key("save_precision", OUTPUT).choice(SavePrecision.class).def(SavePrecision.FP16)
                    .help("Dtype of the saved LoRA weights.").build(),
            key("save_steps", OUTPUT).integerAtLeast(0).def(0)
                    .help("Save a checkpoint every N steps; 0 = only at the end.").build(),
            key("save_every_n_epochs", OUTPUT).integerAtLeast(0).def(0)
                    .help("Save a checkpoint every N epochs; 0 = off.").build(),
            key("save_total_limit", OUTPUT).integerAtLeast(0).def(3)
                    .help("Keep at most N intermediate checkpoints (oldest deleted); 0 = keep all.").build(),
            key("overwrite_output_dir", OUTPUT).bool().def(false)
                    .help("Start afresh when output_dir holds checkpoints of an earlier run: its checkpoints, logs and samples are"
                            + " deleted first. Without it such a run is refused (--resume latest continues it).").build(),
            key("log_with", OUTPUT).names().def(List.of("tensorboard")).alias("report_to")
                    .help("Experiment trackers (kohya's log_with; HF's report_to): tensorboard, mlflow, wandb, all or none, one or a list."
                            + " TensorBoard events and metrics.jsonl are always written to output_dir/logs; mlflow also sends params, metrics,"
                            + " status and the LoRA and samples to the server MLFLOW_TRACKING_URI names (all: mlflow too when it is set);"
                            + " wandb has no Java client: a warning says how to upload the TensorBoard logs.").build(),
            key("log_tracker_name", OUTPUT).string().defaultLabel("MLFLOW_EXPERIMENT_NAME, else Default")
                    .help("kohya's log_tracker_name: the MLflow experiment the run goes to (created if missing).").build(),
            key("tracker_run_name", OUTPUT).string().derivedFrom("output_name").defaultLabel("output_name").alias("wandb_run_name")
                    .help("The tracker run's name (kohya's wandb_run_name).").build(),
            // ---- sample_config
            key("sample_prompts", SAMPLE).texts().def(List.of()).image()
                    .help("Prompts for preview images during training.").build(),
            key("eval_prompts", SAMPLE).texts().def(List.of()).text()
                    .help("Prompts whose completions are logged during training.").build(),
            key("sample_every_n_steps", SAMPLE).integerAtLeast(0).def(0)
                    .help("Generate samples every N steps; 0 = only at the end (when prompts are set).").build(),
            key("sample_sampler", SAMPLE).choice(SampleSampler.class).def(SampleSampler.DDIM).image()
                    .help("Sampler for preview images.").build(),
            key("sample_steps", SAMPLE).integer(1, 1000).def(20).image()
                    .help("Denoising steps per preview image.").build(),
            key("sample_cfg_scale", SAMPLE).numberAtLeast(1).def(7.0).image()
                    .help("Classifier-free guidance scale of previews.").build(),
            key("sample_seed", SAMPLE).integerAtLeast(0).derivedFrom("seed")
                    .help("Seed for samples, so previews are comparable across steps.").build(),
            key("sample_with_base", SAMPLE).bool().def(true)
                    .help("Show the base model's output for the same prompt and seed next to the LoRA's: images side by side"
                            + " (base left), completions as base/LoRA pairs, and printed at the end of the run.").build());

    private static final Map<String, ConfigKey> BY_NAME;
    private static final Map<String, ConfigKey> BY_ALIAS;

    static {
        Map<String, ConfigKey> byName = new LinkedHashMap<>();
        Map<String, ConfigKey> byAlias = new LinkedHashMap<>();
        for (ConfigKey k : ALL) {
            if (byName.put(k.name(), k) != null) throw new IllegalStateException("key described twice: " + k.name());
            for (String a : k.aliases()) byAlias.put(a, k);
        }
        BY_NAME = Collections.unmodifiableMap(byName);
        BY_ALIAS = Collections.unmodifiableMap(byAlias);
    }

    /** The key spelled {@code name} or one of its aliases. */
    public static Optional<ConfigKey> lookup(String name) {
        ConfigKey k = BY_NAME.get(name);
        return Optional.ofNullable(k != null ? k : BY_ALIAS.get(name));
    }

    /** The key named exactly {@code name}; an unknown name is a programming error. */
    public static ConfigKey get(String name) {
        ConfigKey k = BY_NAME.get(name);
        if (k == null) throw new IllegalArgumentException("no config key '" + name + "' in ConfigKeys");
        return k;
    }

    /** Every spelling a user may write: names, aliases and section names (for "did you mean"). */
    public static List<String> allSpellings() {
        List<String> all = new java.util.ArrayList<>(BY_NAME.keySet());
        all.addAll(BY_ALIAS.keySet());
        for (Section s : Section.values()) all.add(s.yamlName());
        return all;
    }

    /** "adamw: weight_decay, betas, eps; lion: ..." for the optimizer_args help. */
    private static String optimizerArgKeys() {
        StringBuilder b = new StringBuilder();
        for (OptimizerType t : OptimizerType.values()) {
            if (t == OptimizerType.SGD_NESTEROV) continue;  // the same keys as sgd
            if (!b.isEmpty()) b.append("; ");
            b.append(t.configName()).append(t == OptimizerType.SGD ? " and sgd_nesterov" : "").append(": ")
                    .append(String.join(", ", t.args().keySet()));
        }
        return b.toString();
    }
}
