package org.lorascripts.config;

/** Sampler used for preview images during training. */
public enum SampleSampler implements ConfigChoice {
    DDIM("ddim"),
    EULER_A("euler_a"),
    /** DPM++ 2M at the schedule's own sigmas (diffusers' DPMSolverMultistepScheduler, leading spacing). */
    DPMPP_2M("dpmpp_2m"),
    /** DPM++ 2M at Karras et al.'s sigmas (use_karras_sigmas=True). */
    DPMPP_2M_KARRAS("dpmpp_2m_karras");

    private final String configName;

    SampleSampler(String configName) { this.configName = configName; }

    @Override public String configName() { return configName; }
}
