namespace EmbeddedChroma;

/// <summary>
/// How a client proves who it is: an API key, given once or fetched from a provider (a secret store, a vault) when
/// it is needed. The embedded store turns it into a key checked against its key ring on every call; a remote client
/// sends it as <c>Authorization: Bearer &lt;key&gt;</c>.
/// </summary>
/// <remarks>
/// A credential never shows its key: <see cref="ToString"/> names only its kind. Keep the key out of source code,
/// logs and command lines: read it from an environment variable or a secret store.
/// </remarks>
public abstract class ChromaCredential
{
    private protected ChromaCredential()
    {
    }

    /// <summary>A credential holding one API key.</summary>
    /// <exception cref="ChromaAuthenticationException">The key is null, empty or blank.</exception>
    public static ChromaCredential FromKey(string apiKey) =>
        string.IsNullOrWhiteSpace(apiKey)
            ? throw new ChromaAuthenticationException("No API key was given: the credential is empty.")
            : new StaticCredential(apiKey);

    /// <summary>
    /// A credential whose key comes from <paramref name="provider"/> each time one is needed (a remote client asks
    /// before every request; the embedded store when a client is created), so a rotated key is picked up.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="provider"/> is null.</exception>
    public static ChromaCredential FromProvider(Func<CancellationToken, ValueTask<string>> provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        return new ProvidedCredential(provider);
    }

    /// <summary>The key to present now.</summary>
    /// <exception cref="ChromaAuthenticationException">No key is available (the provider gave none or failed).</exception>
    public abstract ValueTask<string> GetKeyAsync(CancellationToken cancellationToken = default);

    /// <summary>The key, fetched synchronously (blocks on a provider that is not complete at once).</summary>
    /// <exception cref="ChromaAuthenticationException">No key is available.</exception>
    public string GetKey()
    {
        if (this is StaticCredential fixedKey)
        {
            return fixedKey.Key;
        }

        // A provider is awaited on the thread pool, so one that resumes on the caller's single-threaded
        // synchronization context (a UI thread) cannot deadlock against this blocked thread.
        return Task.Run(() => GetKeyAsync(CancellationToken.None).AsTask()).GetAwaiter().GetResult();
    }

    /// <summary>The kind of credential, never the key.</summary>
    public abstract override string ToString();

    private sealed class StaticCredential(string key) : ChromaCredential
    {
        public string Key => key;

        public override ValueTask<string> GetKeyAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(key);

        public override string ToString() => "ChromaCredential(key)";
    }

    private sealed class ProvidedCredential(Func<CancellationToken, ValueTask<string>> provider) : ChromaCredential
    {
        public override async ValueTask<string> GetKeyAsync(CancellationToken cancellationToken = default)
        {
            string? key;
            try
            {
                key = await provider(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (ChromaException)
            {
                throw;
            }
            catch (Exception ex)
            {
                // The provider's own message might quote what it read: keep it only as the inner exception.
                throw new ChromaAuthenticationException("The credential provider failed to supply an API key (its error is the inner exception).", ex);
            }

            return string.IsNullOrWhiteSpace(key)
                ? throw new ChromaAuthenticationException("The credential provider supplied no API key.")
                : key;
        }

        public override string ToString() => "ChromaCredential(provider)";
    }
}
