module.exports = { content: ["./templates/**/*.html"], corePlugins: { preflight: false } };
