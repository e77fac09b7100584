import Transformer

/// Checks an hparams file against a model: layers in range, module templates that name this
/// family's modules (as the official files do), before any work.
public enum ModelLayout {
    public static func validate(_ hparams: EditHyperParameters, config: ModelConfig, path: String) throws {
        let names = ModuleNames(config: config)
        for layer in hparams.layers where layer >= config.layerCount {
            throw EditJobError.layerOutOfRange(path: path, key: "layers", layer: layer, layerCount: config.layerCount)
        }
        if hparams.vLossLayer >= config.layerCount {
            throw EditJobError.layerOutOfRange(path: path, key: "v_loss_layer", layer: hparams.vLossLayer, layerCount: config.layerCount)
        }
        if let template = hparams.rewriteModuleTemplate {
            for layer in hparams.layers {
                let name = ModuleNames.format(template, layer: layer)
                guard names.hookPoint(module: name, input: true) == .mlpDownInput(layer) else {
                    throw EditJobError.moduleMismatch(path: path, key: "rewrite_module_tmp", found: template,
                                                      expected: names.downProjection(layer).replacingOccurrences(of: ".\(layer).", with: ".{}."))
                }
            }
        }
        if let template = hparams.layerModuleTemplate {
            let layer = hparams.zLayer
            guard names.hookPoint(module: ModuleNames.format(template, layer: layer), input: false) == .blockOutput(layer) else {
                throw EditJobError.moduleMismatch(path: path, key: "layer_module_tmp", found: template, expected: names.blockPrefix + ".{}")
            }
        }
        if let norm = hparams.finalNormModule, norm != names.finalNormName {
            throw EditJobError.moduleMismatch(path: path, key: "ln_f_module", found: norm, expected: names.finalNormName)
        }
        if hparams.lmHeadModule != "lm_head" {
            throw EditJobError.moduleMismatch(path: path, key: "lm_head_module", found: hparams.lmHeadModule, expected: "lm_head")
        }
    }

    /// The rewrite module's name at a layer, e.g. `transformer.h.4.mlp.c_proj`.
    public static func rewriteModule(_ hparams: EditHyperParameters, config: ModelConfig, layer: Int) -> String {
        hparams.rewriteModuleTemplate.map { ModuleNames.format($0, layer: layer) } ?? ModuleNames(config: config).downProjection(layer)
    }
}
