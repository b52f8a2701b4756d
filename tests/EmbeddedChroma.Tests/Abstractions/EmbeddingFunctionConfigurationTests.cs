using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Abstractions;

/// <summary>
/// Collections and their remembered embedding function when the EmbeddedChroma.Embeddings.MiniLM package is NOT
/// present (this test assembly does not reference it): new collections stay raw, and a collection that remembers
/// Chroma's default opens and serves raw vectors, but a text call names the model and the package.
/// </summary>
public sealed class EmbeddingFunctionConfigurationTests : IDisposable
{
    private readonly StoreFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public void CreateCollection_records_no_embedding_function_when_the_model_package_is_absent()
    {
        EmbeddingFunctions.IsAvailable(EmbeddingFunctions.DefaultName).Should().BeFalse();

        var c = _fixture.Client.CreateCollection("raw");
        _fixture.Reopen();

        c.Configuration.EmbeddingFunction.Should().BeNull();
        _fixture.Client.GetCollection("raw").Configuration.EmbeddingFunction.Should().BeNull();
        _fixture.Client.GetCollection("raw").EmbeddingGenerator.Should().BeNull();
    }

    [Fact]
    public async Task Text_calls_throw_ChromaEmbeddingException_naming_model_and_package_when_the_default_is_remembered_but_absent()
    {
        _fixture.Client.CreateCollection("docs", new CollectionOptions
        {
            Configuration = new CollectionConfiguration { EmbeddingFunction = EmbeddingFunctionConfiguration.Default },
        });
        _fixture.Reopen();
        var c = _fixture.Client.GetCollection("docs");
        await c.AddAsync(["raw"], [[1f, 2f, 3f]]);

        var add = await c.Invoking(x => x.AddTextsAsync(["a"], ["text"])).Should().ThrowAsync<ChromaEmbeddingException>();
        var query = await c.Invoking(x => x.QueryTextsAsync(["text"])).Should().ThrowAsync<ChromaEmbeddingException>();

        add.Which.Message.Should().Contain("all-MiniLM-L6-v2").And.Contain("EmbeddedChroma.Embeddings.MiniLM");
        query.Which.Message.Should().Contain("all-MiniLM-L6-v2").And.Contain("EmbeddedChroma.Embeddings.MiniLM");
        c.Configuration.EmbeddingFunction.Should().Be(EmbeddingFunctionConfiguration.Default);
        (await c.CountAsync()).Should().Be(1);
        (await c.QueryAsync([[1f, 2f, 3f]], nResults: 1)).Ids[0].Should().Equal("raw");
    }

    [Fact]
    public void DeleteCollection_forgets_the_embedding_function_when_a_collection_of_the_same_name_is_created_again()
    {
        _fixture.Client.CreateCollection("docs", new CollectionOptions
        {
            Configuration = new CollectionConfiguration { EmbeddingFunction = EmbeddingFunctionConfiguration.Legacy },
        });
        _fixture.Client.DeleteCollection("docs");
        _fixture.Client.CreateCollection("docs");
        _fixture.Reopen();

        _fixture.Client.ListCollections().Single().Configuration.EmbeddingFunction.Should().BeNull();
    }

    [Fact]
    public void ToJson_writes_Chromas_form_and_FromJson_reads_it_back()
    {
        EmbeddingFunctionConfiguration.Default.ToJson().Should().Be("""{"type":"known","name":"default","config":{}}""");
        EmbeddingFunctionConfiguration.FromJson("""{"type": "known", "name": "default", "config": {}}""").Should().BeSameAs(EmbeddingFunctionConfiguration.Default);
        EmbeddingFunctionConfiguration.FromJson(EmbeddingFunctionConfiguration.Legacy.ToJson()).Should().Be(EmbeddingFunctionConfiguration.Legacy);
        FluentActions.Invoking(() => EmbeddingFunctionConfiguration.FromJson("{not json")).Should().Throw<ChromaValidationException>();
    }

    [Theory]
    [InlineData("known", null)]
    [InlineData("known", "")]
    [InlineData("custom", "x")]
    public void CreateCollection_rejects_an_embedding_function_when_its_type_or_name_is_invalid(string type, string? name)
    {
        var act = () => _fixture.Client.CreateCollection("bad", new CollectionOptions
        {
            Configuration = new CollectionConfiguration { EmbeddingFunction = new EmbeddingFunctionConfiguration(type, name) },
        });

        act.Should().Throw<ChromaValidationException>().WithMessage("*embedding_function*");
        _fixture.Client.ListCollections().Should().BeEmpty();
    }

    [Fact]
    public void CreateCollection_persists_a_known_functions_config_and_an_unknown_function_when_the_store_is_reopened()
    {
        var openai = new EmbeddingFunctionConfiguration("known", "openai") { Config = """{"model_name":"text-embedding-3-small","api_key_env_var":"OPENAI_API_KEY"}""" };
        _fixture.Client.CreateCollection("openai", new CollectionOptions { Configuration = new CollectionConfiguration { EmbeddingFunction = openai } });
        _fixture.Client.CreateCollection("opaque", new CollectionOptions { Configuration = new CollectionConfiguration { EmbeddingFunction = new EmbeddingFunctionConfiguration("unknown", null) } });
        _fixture.Reopen();

        var remembered = _fixture.Client.GetCollection("openai").Configuration.EmbeddingFunction!;
        remembered.Should().Be(openai);
        remembered.ToJson().Should().Be("""{"type":"known","name":"openai","config":{"model_name":"text-embedding-3-small","api_key_env_var":"OPENAI_API_KEY"}}""");
        _fixture.Client.GetCollection("opaque").Configuration.EmbeddingFunction.Should().Be(new EmbeddingFunctionConfiguration("unknown", null));
        _fixture.Client.GetCollection("opaque").EmbeddingGenerator.Should().BeNull("an unknown function is kept, never resolved");
    }

    [Fact]
    public void CreateCollection_rejects_a_config_that_is_not_an_object_or_holds_an_api_key_without_repeating_it()
    {
        var notObject = () => _fixture.Client.CreateCollection("bad", new CollectionOptions
        {
            Configuration = new CollectionConfiguration { EmbeddingFunction = new EmbeddingFunctionConfiguration("known", "openai") { Config = "[1]" } },
        });
        var withKey = () => _fixture.Client.CreateCollection("bad", new CollectionOptions
        {
            Configuration = new CollectionConfiguration { EmbeddingFunction = new EmbeddingFunctionConfiguration("known", "openai") { Config = $$"""{"api_key":"{{_fixture.AdminKey}}"}""" } },
        });

        notObject.Should().Throw<ChromaValidationException>().WithMessage("*config must be a JSON object*");
        withKey.Should().Throw<ChromaValidationException>().Which.Message.Should().NotContain(_fixture.AdminKey[^20..]);
        _fixture.Client.ListCollections().Should().BeEmpty();
    }
}
