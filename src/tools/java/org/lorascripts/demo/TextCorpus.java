package org.lorascripts.demo;

import java.util.List;
import java.util.SplittableRandom;

/**
 * The generated English the built-in tiny LLaMA is pretrained on: short paragraphs about everyday
 * life in a small town (mornings, markets, cooking, gardens, animals, weather and seasons, trips),
 * written from templates with word lists, so the model learns readable, grammatical text without
 * any third-party corpus (no licence to track). Every paragraph is a pure function of (seed, index).
 * Tea is deliberately absent: the text quickstart's LoRA brings that domain in.
 */
public final class TextCorpus {
    private TextCorpus() {}

    private record Person(String name, String he, String him, String his) {}

    private static final List<Person> PEOPLE = List.of(
            she("Anna"), he("Ben"), she("Clara"), he("David"), she("Emma"), he("Felix"), she("Grace"), he("Henry"),
            she("Iris"), he("Jack"), she("Lena"), he("Max"), she("Nora"), he("Oscar"), she("Paula"), he("Sam"),
            she("Rosa"), he("Tom"), she("Zoe"), he("Leo"));

    private static final List<String> DAYS = List.of("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday");
    private static final List<String> WEATHER = List.of("clear and blue", "grey and cloudy", "bright and warm", "dark with rain",
            "cold and windy", "foggy", "full of white clouds");
    private static final List<String> PLACES = List.of("market", "park", "river", "library", "bakery", "station", "beach",
            "forest", "school", "harbour", "museum", "square");
    private static final List<String> COMPANIONS = List.of("dog", "sister", "brother", "friend", "grandmother", "neighbour",
            "little cat", "cousin");
    private static final List<String> BUYS = List.of("fresh bread", "a bag of apples", "some cheese", "six eggs", "a bunch of carrots",
            "a jar of honey", "warm rolls", "a basket of plums", "a bottle of milk", "two lemons");
    private static final List<String> DRINKS = List.of("a glass of milk", "a cup of coffee", "some orange juice", "a glass of water",
            "hot chocolate");
    private static final List<String> ACTIVITIES = List.of("reads a book", "feeds the ducks", "plays football", "draws the boats",
            "talks with old friends", "listens to the music", "watches the trains", "collects shells", "looks at the paintings");
    private static final List<String> EVENINGS = List.of("cooks dinner", "writes a letter", "plays the piano", "reads the newspaper",
            "waters the plants", "goes to bed early", "calls a friend", "fixes a bicycle");

    private record Dish(String name, String step1, String step2, String step3) {}

    private static final List<Dish> DISHES = List.of(
            new Dish("vegetable soup", "cut two carrots, an onion and three potatoes into small pieces",
                    "put them in a pot with one litre of water and a little salt", "let the soup cook on a low heat for thirty minutes"),
            new Dish("pancakes", "mix two cups of flour with two eggs and a cup of milk",
                    "heat a little butter in a flat pan", "pour in a spoon of batter and turn it after one minute"),
            new Dish("rice", "wash one cup of rice in cold water", "put it in a pot with two cups of water and bring it to the boil",
                    "cover the pot and cook it on a low heat for fifteen minutes"),
            new Dish("an apple pie", "peel and slice five apples", "mix them with sugar and a little cinnamon",
                    "bake the pie in a hot oven for forty minutes"),
            new Dish("boiled eggs", "bring a small pot of water to the boil", "put the eggs in gently with a spoon",
                    "take them out after seven minutes and cool them in cold water"),
            new Dish("tomato sauce", "chop four ripe tomatoes and one clove of garlic", "cook them in olive oil for ten minutes",
                    "add salt, pepper and fresh basil at the end"),
            new Dish("bread", "mix flour, water, salt and yeast into a soft dough", "let the dough rest in a warm place for two hours",
                    "bake it in a hot oven until the crust is brown"),
            new Dish("a fruit salad", "wash the fruit in cold water", "cut apples, pears and oranges into small pieces",
                    "mix them in a bowl with a spoon of honey"));

    private record Animal(String name, String home, String food, String habit) {}

    private static final List<Animal> ANIMALS = List.of(
            new Animal("fox", "in a den at the edge of the forest", "mice, berries and eggs", "hunts at night and sleeps during the day"),
            new Animal("owl", "in a hollow tree", "mice and small insects", "flies without a sound"),
            new Animal("rabbit", "in a burrow under the field", "grass, clover and carrots", "stays close to home when it is cold"),
            new Animal("duck", "by the river", "seeds, grass and small fish", "swims in the morning and rests in the reeds"),
            new Animal("squirrel", "in a nest high in an oak tree", "nuts and seeds", "hides food for the winter"),
            new Animal("hedgehog", "under a pile of leaves", "beetles, worms and snails", "rolls into a ball when it is afraid"),
            new Animal("deer", "in the quiet part of the forest", "leaves, grass and acorns", "runs away at the smallest sound"),
            new Animal("bee", "in a hive near the meadow", "the nectar of flowers", "works from early morning until the evening"));

    private record Plant(String name, String need, String when) {}

    private static final List<Plant> PLANTS = List.of(
            new Plant("tomatoes", "plenty of sun and water every morning", "in late spring"),
            new Plant("potatoes", "loose soil and a little rain", "in early spring"),
            new Plant("roses", "rich soil and a sunny wall", "in autumn"),
            new Plant("beans", "a tall stick to climb on", "when the soil is warm"),
            new Plant("lettuce", "cool weather and steady water", "in spring and again in late summer"),
            new Plant("sunflowers", "full sun and a lot of space", "in the middle of spring"),
            new Plant("apple trees", "deep soil and a cold winter", "in the dry months of winter"));

    private record Season(String name, String days, String nights, String sight) {}

    private static final List<Season> SEASONS = List.of(
            new Season("spring", "mild and bright", "still cool", "the first flowers open in the gardens"),
            new Season("summer", "long and hot", "short and warm", "children swim in the river until the sun goes down"),
            new Season("autumn", "shorter and cooler", "long and damp", "the leaves turn red and gold and fall from the trees"),
            new Season("winter", "short and cold", "long and dark", "snow covers the roofs and the fields"));

    private static final List<String> DESTINATIONS = List.of("the mountains", "the sea", "a small island", "the city", "a village in the hills",
            "an old castle");
    private static final List<String> TRANSPORT = List.of("by train", "by bus", "by car", "on a boat", "by bicycle");

    private static Person she(String n) { return new Person(n, "she", "her", "her"); }

    private static Person he(String n) { return new Person(n, "he", "him", "his"); }

    private static <T> T pick(SplittableRandom r, List<T> items) { return items.get(r.nextInt(items.size())); }

    private static String cap(String s) { return Character.toUpperCase(s.charAt(0)) + s.substring(1); }

    private static final String[] NUMBERS = {"two", "three", "four", "five", "six", "seven", "eight", "ten", "twelve", "twenty"};

    /** Paragraph {@code index} of the corpus of {@code seed}: two to six sentences on one topic. */
    public static String paragraph(long seed, long index) {
        SplittableRandom r = new SplittableRandom(seed * 0x2545F4914F6CDD1DL + index);
        Person p = pick(r, PEOPLE);
        return switch (r.nextInt(8)) {
            case 0, 1 -> day(r, p);
            case 2 -> cooking(r, p);
            case 3 -> animal(r);
            case 4 -> garden(r, p);
            case 5 -> season(r);
            case 6 -> trip(r, p);
            default -> recipeOnly(r);
        };
    }

    private static String day(SplittableRandom r, Person p) {
        StringBuilder s = new StringBuilder();
        s.append(p.name()).append(" wakes up early on ").append(pick(r, DAYS)).append(". ");
        s.append(cap(p.he())).append(" opens the window and sees that the sky is ").append(pick(r, WEATHER)).append(". ");
        s.append("After breakfast and ").append(pick(r, DRINKS)).append(", ").append(p.he()).append(" walks to the ")
                .append(pick(r, PLACES)).append(" with ").append(p.his()).append(' ').append(pick(r, COMPANIONS)).append(". ");
        if (r.nextBoolean()) {
            s.append("There ").append(p.he()).append(" buys ").append(pick(r, BUYS)).append(" and ").append(pick(r, BUYS)).append(". ");
        } else {
            s.append("There ").append(p.he()).append(' ').append(pick(r, ACTIVITIES)).append(" for an hour. ");
        }
        s.append("In the evening, ").append(p.he()).append(' ').append(pick(r, EVENINGS)).append('.');
        return s.toString();
    }

    private static String cooking(SplittableRandom r, Person p) {
        Dish d = pick(r, DISHES);
        return p.name() + " wants to make " + d.name() + " for " + p.his() + " " + pick(r, COMPANIONS) + ". First, " + p.he() + " "
                + conjugate(d.step1()) + ". Then " + p.he() + " " + conjugate(d.step2()) + ". At last, " + p.he() + " "
                + conjugate(d.step3()) + ". " + (r.nextBoolean() ? "Everyone says that it tastes very good." : "The kitchen smells wonderful.");
    }

    private static String recipeOnly(SplittableRandom r) {
        Dish d = pick(r, DISHES);
        return "To make " + d.name() + ", " + d.step1() + ". Then " + d.step2() + ". Finally, " + d.step3() + ". "
                + (r.nextBoolean() ? "Serve it warm." : "It is best on the same day.");
    }

    /** "cut two carrots" → "cuts two carrots" (the first verb of a recipe step, third person). */
    static String conjugate(String step) {
        int sp = step.indexOf(' ');
        String verb = sp < 0 ? step : step.substring(0, sp), rest = sp < 0 ? "" : step.substring(sp);
        String v = verb.endsWith("sh") || verb.endsWith("ch") || verb.endsWith("x") || verb.endsWith("s") ? verb + "es"
                : verb.endsWith("y") && !verb.endsWith("ay") ? verb.substring(0, verb.length() - 1) + "ies"
                : verb.equals("let") ? "lets" : verb + "s";
        for (String second : List.of("bring", "cool", "cook", "turn", "slice")) rest = rest.replace(" and " + second + " ", " and " + second + "s ");
        return v + rest;
    }

    private static String animal(SplittableRandom r) {
        Animal a = pick(r, ANIMALS);
        String s = "The " + a.name() + " lives " + a.home() + ". It eats " + a.food() + ". The " + a.name() + " " + a.habit() + ".";
        return r.nextBoolean() ? s + " If you are patient and quiet, you may see one " + pick(r, List.of("at dawn", "in the evening",
                "after the rain", "on a still morning")) + "." : s;
    }

    private static String garden(SplittableRandom r, Person p) {
        Plant pl = pick(r, PLANTS);
        return cap(pl.name()) + " need " + pl.need() + ". The best time to plant them is " + pl.when() + ". " + p.name()
                + " grows " + pl.name() + " in " + p.his() + " garden and checks them every " + pick(r, List.of("morning", "evening", "weekend"))
                + ". " + (r.nextBoolean() ? "This year the harvest is good." : "Last year the snails ate half of them.");
    }

    private static String season(SplittableRandom r) {
        Season s = pick(r, SEASONS);
        return "In " + s.name() + ", the days are " + s.days() + " and the nights are " + s.nights() + ". It is "
                + NUMBERS[r.nextInt(NUMBERS.length)] + " degrees outside at noon. " + cap(s.sight()) + ".";
    }

    private static String trip(SplittableRandom r, Person p) {
        String dest = pick(r, DESTINATIONS);
        return p.name() + " travels to " + dest + " " + pick(r, TRANSPORT) + ". The journey takes " + NUMBERS[r.nextInt(NUMBERS.length)]
                + " hours. " + cap(p.he()) + " carries a small bag with " + pick(r, BUYS) + " and a map. When " + p.he()
                + " arrives, " + p.he() + " " + pick(r, List.of("finds a quiet room near the water", "walks around until dark",
                "takes many photographs", "meets an old friend at the station")) + ".";
    }
}
