using Microsoft.Extensions.Options;

namespace EmbeddedChroma.DependencyInjection;

/// <summary>Checks what data annotations cannot: the folder holds a store, and the key looks like one (without saying anything about it).</summary>
internal sealed class EmbeddedChromaOptionsValidator : IValidateOptions<EmbeddedChromaOptions>
{
    public ValidateOptionsResult Validate(string? name, EmbeddedChromaOptions options)
    {
        var failures = new List<string>();
        var which = string.IsNullOrEmpty(name) ? "EmbeddedChroma" : $"EmbeddedChroma '{name}'";
        if (!string.IsNullOrWhiteSpace(options.Path) && !ChromaStore.Exists(options.Path))
        {
            failures.Add($"{which}: Path '{options.Path}' holds no store; create one with ChromaStore.Create (it prints the first admin key once).");
        }

        if (string.IsNullOrWhiteSpace(options.ApiKey))
        {
            failures.Add($"{which}: ApiKey is missing; give it through configuration from a secret store (user secrets, an environment variable), never a literal.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
