// UI labels in English and Simplified Chinese; config key names and their help stay as the CLI writes them.
window.I18N = {
  en: {
    train: "Train", runs: "Runs", language: "Language", preset: "Preset", loadPreset: "Load preset", task: "Task",
    image: "Image (Stable Diffusion)", text: "Text (LLM)", advanced: "Show advanced keys", check: "Check",
    start: "Start training", yamlFile: "YAML file", save: "Save YAML", load: "Load YAML", run: "Run", state: "State",
    output: "Output folder", step: "Step", loss: "Loss", lr: "Learning rate", eta: "ETA", stop: "Stop (save checkpoint)",
    resume: "Resume", samples: "Samples", log: "Log", valid: "The config is valid.", invalid: "Fix these before starting:",
    checking: "Checking…", started: "Started run", saved: "Saved", loaded: "Loaded", default: "default",
    model_config: "Model", lora_config: "LoRA network", train_config: "Training", data_config: "Data",
    output_config: "Output", sample_config: "Samples while training",
    running: "running", finished: "finished", failed: "failed", stopped: "stopped", noRuns: "No runs yet.", memory: "Device memory (estimate)", dataset: "Dataset", folder: "Image folder", open: "Open", tags: "Tag frequency", images: "images", saveCaption: "Save caption", models: "Models", info: "Model info", show: "Show", playground: "Sample playground (image)", base: "Base model", weight: "LoRA weight", prompt: "Prompt", seed: "Seed", steps: "Steps", generate: "Generate", working: "Working…", dryRun: "Dry run (data and plan)", bulk: "All captions", apply: "Apply", textPlayground: "Text playground", adapter: "PEFT adapter folder", maxNewTokens: "Max new tokens", temperature: "Temperature (0 = greedy)", baseCompletion: "Base model", loraCompletion: "With the adapter", labeler: "Label the images", backend: "Backend", labelModel: "Model (empty = standard, none = trigger only)", threshold: "Threshold", trigger: "Trigger word", overwrite: "Replace existing captions", label: "Label", textPreview: "Text data: the first examples as training sees them", textData: "Text data file or folder", examples: "Examples", preview: "Preview", trained: "trained (loss)", context: "context (masked)", cut: "cut at max_seq_len", tokens: "tokens", template: "chat template", trainingExamples: "training examples", truncated: "truncated", skipped: "skipped by the trainer: no trained token", labelDone: "done", labelErrors: "errors", labelCurrent: "current file"
  },
  zh: {
    train: "训练", runs: "任务", language: "语言", preset: "预设", loadPreset: "载入预设", task: "任务类型",
    image: "图像（Stable Diffusion）", text: "文本（大语言模型）", advanced: "显示高级参数", check: "检查",
    start: "开始训练", yamlFile: "YAML 文件", save: "保存 YAML", load: "载入 YAML", run: "任务", state: "状态",
    output: "输出目录", step: "步数", loss: "损失", lr: "学习率", eta: "剩余时间", stop: "停止（保存检查点）",
    resume: "继续训练", samples: "样图", log: "日志", valid: "配置有效。", invalid: "开始前请修正：",
    checking: "检查中…", started: "已开始任务", saved: "已保存", loaded: "已载入", default: "默认",
    model_config: "模型", lora_config: "LoRA 网络", train_config: "训练", data_config: "数据",
    output_config: "输出", sample_config: "训练中采样",
    running: "运行中", finished: "已完成", failed: "失败", stopped: "已停止", noRuns: "还没有任务。", memory: "显存（估计）", dataset: "数据集", folder: "图片目录", open: "打开", tags: "标签频率", images: "张图片", saveCaption: "保存标注", models: "模型", info: "模型信息", show: "查看", playground: "采样试验（图像）", base: "底模", weight: "LoRA 权重", prompt: "提示词", seed: "种子", steps: "步数", generate: "生成", working: "处理中…", dryRun: "试运行（数据与计划）", bulk: "批量修改标注", apply: "应用", textPlayground: "文本试验", adapter: "PEFT 适配器目录", maxNewTokens: "最多生成词元数", temperature: "温度（0 = 贪心）", baseCompletion: "底模", loraCompletion: "加载适配器后", labeler: "自动标注", backend: "后端", labelModel: "模型（留空 = 标准模型，none = 仅触发词）", threshold: "阈值", trigger: "触发词", overwrite: "覆盖已有标注", label: "标注", textPreview: "文本数据：训练时看到的前几条样本", textData: "文本数据文件或目录", examples: "样本数", preview: "预览", trained: "参与训练（计算损失）", context: "上下文（不计损失）", cut: "超出 max_seq_len 被截断", tokens: "词元", template: "对话模板", trainingExamples: "条训练样本", truncated: "已截断", skipped: "训练时跳过：没有参与训练的词元", labelDone: "已完成", labelErrors: "错误", labelCurrent: "当前文件"
  }
};
